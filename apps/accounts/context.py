"""What every page of the operator shell needs: the current client, role, switcher and navigation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from apps.accounts.models import Membership
from tenants.addresses import client_url, portal_url
from tenants.models import Client


@dataclass(frozen=True)
class NavItem:
    key: str
    label: str
    url_name: str
    icon: str


NAV = (
    NavItem("inbox", "Inbox", "tickets:inbox", "inbox"),
    NavItem("investigations", "Investigations", "agent:investigations", "search"),
    NavItem("knowledge", "Knowledge", "knowledge:index", "book"),
    NavItem("connectors", "Connectors", "connectors:index", "plug"),
    NavItem("approvals", "Approvals", "safety:approvals", "shield"),
    NavItem("models", "Models", "llm:index", "cpu"),
    NavItem("chat", "Chat", "chat:index", "chat"),
    NavItem("settings", "Settings", "accounts:settings", "gear"),
)


def request_scheme_and_port(request: HttpRequest) -> tuple[str, str | None]:
    return request.scheme or "http", request.get_port()


def jump_url(request: HttpRequest, client: Client | None) -> str:
    """Where a link to another client (None: the portal) should point from this page.

    Direct when the session cookie spans subdomains; through the signed hand-off when it cannot.
    """
    if settings.SESSION_COOKIE_DOMAIN is None:
        return reverse("handoff", args=[client.slug if client else "portal"])
    scheme, port = request_scheme_and_port(request)
    if client is None:
        return portal_url(scheme=scheme, port=port)
    return client_url(client, scheme=scheme, port=port)


def shell(request: HttpRequest) -> dict[str, Any]:
    tenant = getattr(request, "tenant", None)
    user = getattr(request, "user", None)
    if tenant is None or user is None or not user.is_authenticated:
        return {"shell": {"tenant": tenant}}
    memberships = list(Membership.objects.filter(user=user, client__is_active=True).select_related("client"))
    switcher = [
        {
            "client": m.client,
            "role": m.get_role_display(),
            "url": jump_url(request, m.client),
            "current": m.client_id == tenant.pk,
        }
        for m in memberships
    ]
    nav = []
    if not tenant.is_public:
        current = getattr(request.resolver_match, "namespace", "") if request.resolver_match else ""
        for item in NAV:
            try:
                url = reverse(item.url_name)
            except NoReverseMatch:
                continue
            nav.append({"item": item, "url": url, "active": item.url_name.split(":")[0] == current})
    return {
        "shell": {
            "tenant": tenant,
            "membership": getattr(request, "membership", None),
            "switcher": switcher,
            "nav": nav,
            "portal_url": jump_url(request, None),
            "persona": getattr(user, "persona", "msp"),
        }
    }
