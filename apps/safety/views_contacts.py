"""Authorized contacts (Admins): who may ask Gaby to act for a colleague."""

from __future__ import annotations

from uuid import UUID

from django import forms
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from apps.accounts.access import require_role
from apps.accounts.models import Role
from apps.core.http import ClientRequest
from apps.safety.contacts import ContactError, add_authorized_contact, remove_authorized_contact
from apps.safety.models import AuthorizedContact


class AuthorizedContactForm(forms.Form):
    email = forms.EmailField(max_length=254, help_text="The address they write from (their verified sender).")
    name = forms.CharField(max_length=200, required=False)
    note = forms.CharField(
        max_length=300, required=False, label="Why", help_text="Why they may ask for others, e.g. office manager."
    )


@require_role(Role.ADMIN)
def authorized_contacts(request: ClientRequest) -> HttpResponse:
    form = AuthorizedContactForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            add_authorized_contact(actor=request.user, **form.cleaned_data)
            return redirect("safety:authorized_contacts")
        except ContactError as exc:
            form.add_error("email", str(exc))
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "safety/authorized_contacts.html",
        {"form": form, "contacts": AuthorizedContact.objects.all()},
        status=status,
    )


@require_POST
@require_role(Role.ADMIN)
def remove_contact(request: ClientRequest, contact_id: UUID) -> HttpResponse:
    remove_authorized_contact(contact=get_object_or_404(AuthorizedContact, pk=contact_id), actor=request.user)
    return redirect("safety:authorized_contacts")
