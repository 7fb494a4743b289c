"""The page for a host that is no client of this install (django-tenants' DEFAULT_NOT_FOUND_TENANT_VIEW): a 404
in Gaby's look, pointing at the MSP portal rather than back at the same unknown host."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string

from tenants.addresses import portal_url


def unknown_client(request: HttpRequest) -> HttpResponse:
    portal = portal_url(scheme=request.scheme or "http", port=request.get_port())
    html = render_to_string("unknown_client.html", {"host": request.get_host(), "portal": portal})
    return HttpResponse(html, status=404)
