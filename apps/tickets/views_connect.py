"""Connecting a help desk from the sources page: pick a kind, fill its form, the source is created sealed."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect

from apps.accounts.access import require_role
from apps.accounts.models import Role
from apps.core.http import ClientRequest, render_page
from apps.tickets import services
from apps.tickets.forms_sources import FORMS
from apps.tickets.sources.registry import ADAPTERS


def connectable() -> list[tuple[str, str]]:
    return [(kind, ADAPTERS[kind].label) for kind in FORMS if kind in ADAPTERS]


@require_role(Role.ADMIN)
def connect_source(request: ClientRequest, kind: str) -> HttpResponse:
    if kind not in dict(connectable()):
        raise Http404(f"No help desk of kind {kind!r} can be connected here.")
    form_class = FORMS[kind]
    form = form_class(request.POST or None, initial={"name": ADAPTERS[kind].label})
    if request.method == "POST" and form.is_valid():
        source = services.create_source(
            client=request.tenant,
            kind=kind,
            name=form.cleaned_data["name"],
            config=form.config(),
            poll_interval_seconds=form.cleaned_data["poll_interval_seconds"],
            actor=request.user,
        )
        warning = form.after_create(request.tenant, source)
        messages.success(request, f"Connected {source.name}. Its first poll runs within a minute.")
        if warning:
            messages.warning(request, warning)
        return redirect("tickets:sources")
    context = {"form": form, "kind": kind, "label": ADAPTERS[kind].label, "kinds": connectable()}
    status = 400 if request.method == "POST" else 200
    return render_page(request, "tickets/connect.html", context, partial="form", status=status)
