"""The MSP portal: onboarding a new client (MSP staff), with the onboarding template applied right after it is
created (MSP-8). The portal's home (attention queue, client cards) is apps/portal/views.py."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from apps.accounts.access import msp_staff_required
from apps.core.http import GabyRequest, render_page
from apps.onboarding.client_templates.onboard import apply_on_onboarding
from apps.portal.forms import NewClientForm
from apps.portal.views import TEMPLATE, page_context
from tenants.services import create_client


@require_POST
@msp_staff_required
def new_client(request: GabyRequest) -> HttpResponse:
    form = NewClientForm(request.POST)
    status = 400
    if form.is_valid():
        try:
            client = create_client(name=form.cleaned_data["name"], slug=form.cleaned_data["slug"], admin=request.user)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"{client.name} is ready. You are its first Admin.")
            onboarded = apply_on_onboarding(client=client, template=form.cleaned_data["template"], actor=request.user)
            if onboarded.message:
                messages.add_message(
                    request, messages.SUCCESS if onboarded.applied else messages.ERROR, onboarded.message
                )
            if not request.htmx:
                return redirect("portal_home")
            form, status = NewClientForm(), 200
    # The same cards and queue as the home page: a re-drawn list (or a failed plain post) keeps its figures.
    return render_page(request, TEMPLATE, page_context(request, form), partial="clients", status=status)
