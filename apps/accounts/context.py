"""What every page of the operator shell needs: the current client, role, switcher and navigation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

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
    # The pages it stands for, as prefixes of their view names ("safety:approv" or a whole namespace "llm:").
    # A page lights the item with the longest prefix that matches it, so Audit (safety:audit) lights Settings
    # while the approval queue (safety:approvals) lights Approvals.
    sections: tuple[str, ...] = ()


NAV = (
    NavItem("dashboard", "Dashboard", "insights:overview", "chart", ("insights:",)),
    NavItem("inbox", "Inbox", "tickets:inbox", "inbox", ("tickets:",)),
    NavItem("investigations", "Investigations", "agent:investigations", "search", ("agent:",)),
    NavItem("playbooks", "Playbooks", "playbooks:list", "list", ("playbooks:",)),
    NavItem("knowledge", "Knowledge", "knowledge:index", "book", ("knowledge:",)),
    NavItem("connectors", "Connectors", "connectors:index", "plug", ("connectors:",)),
    NavItem(
        "approvals",
        "Approvals",
        "safety:approvals",
        "shield",
        ("safety:approv", "safety:reject", "safety:undo", "safety:confirm"),
    ),
    NavItem("models", "Models", "llm:index", "cpu", ("llm:",)),
    NavItem("chat", "Chat", "chat:index", "chat", ("chat:",)),
    NavItem(
        "settings",
        "Settings",
        "accounts:settings",
        "gear",
        # Everything configured once rather than worked in daily, wherever its app puts it.
        (
            "accounts:",
            "apikeys:",
            "safety:",
            "agent:settings",
            "chat:widget",
            "tickets:webhook",
            "tickets:source",
            "tickets:connect_source",
            "tickets:quarantine",
            "tickets:resolve_quarantined",
            "onboarding:",
        ),
    ),
)


def active_nav_key(view_name: str) -> str:
    """The key of the item whose section prefix matches ``view_name`` longest ("" when none does)."""
    best, key = 0, ""
    for item in NAV:
        for prefix in item.sections:
            if view_name.startswith(prefix) and len(prefix) > best:
                best, key = len(prefix), item.key
    return key


def request_scheme_and_port(request: HttpRequest) -> tuple[str, str | None]:
    return request.scheme or "http", request.get_port()


def jump_url(request: HttpRequest, client: Client | None, path: str = "/") -> str:
    """Where a link to another client (None: the portal), at ``path`` of its site, should point from this page.

    Direct when the session cookie spans subdomains; through the signed hand-off when it cannot.
    """
    if settings.SESSION_COOKIE_DOMAIN is None:
        handoff = reverse("handoff", args=[client.slug if client else "portal"])
        return handoff if path == "/" else f"{handoff}?{urlencode({'next': path})}"
    scheme, port = request_scheme_and_port(request)
    if client is None:
        return portal_url(scheme=scheme, port=port) + path.removeprefix("/")
    return client_url(client, scheme=scheme, port=port) + path.removeprefix("/")


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
        active = active_nav_key(request.resolver_match.view_name if request.resolver_match else "")
        for item in NAV:
            try:
                url = reverse(item.url_name)
            except NoReverseMatch:
                continue
            nav.append({"item": item, "url": url, "active": item.key == active})
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
