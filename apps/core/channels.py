"""Tenancy for websockets, where TenantMainMiddleware does not run.

``TenantWebsocketMiddleware`` resolves the Host header to a client and puts it in the scope; an
unknown host is accepted only to be closed with code 4404 so the browser sees why. Member sockets carry
the session cookie, which spans every subdomain: their Origin must be one of the client's own domains
(another client's subdomain is closed with 4403), so no other page can open a socket as a member. The
widget's public socket is embedded on customers' sites and checks its own allowlist instead. Consumers run
their database work through ``in_tenant`` so every query executes in the scope's schema, and name
channel groups with ``tenant_group`` so one client's events can never reach another's sockets.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from channels.db import database_sync_to_async
from django_tenants.utils import get_public_schema_name, schema_context, tenant_context

from tenants.models import Client, Domain

CLOSE_UNKNOWN_HOST = 4404
CLOSE_FORBIDDEN = 4403

T = TypeVar("T")


def _header(scope: dict[str, Any], name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return ""


def _host_from_scope(scope: dict[str, Any]) -> str:
    return _header(scope, b"host").rsplit(":", 1)[0].lower().strip(".")


def _origin_host(scope: dict[str, Any]) -> str:
    """The host of the page that opened the socket ("" when there is none, or it is "null")."""
    try:
        parts = urlsplit(_header(scope, b"origin").strip())
        return (parts.hostname or "").strip(".") if parts.scheme in ("http", "https") else ""
    except ValueError:
        return ""


def resolve_tenant(host: str) -> Client | None:
    with schema_context(get_public_schema_name()):
        domain = Domain.objects.select_related("tenant").filter(domain=host, tenant__is_active=True).first()
        return domain.tenant if domain else None


def _own_domains(tenant: Client) -> set[str]:
    with schema_context(get_public_schema_name()):
        return {d.lower() for d in Domain.objects.filter(tenant=tenant).values_list("domain", flat=True)}


class TenantWebsocketMiddleware:
    """``own_origin``: refuse a socket whose Origin is not one of the client's domains (member sockets);
    False for the widget's public socket, whose consumer checks the widget's allowed origins."""

    def __init__(self, inner: Any, *, own_origin: bool = True) -> None:
        self.inner = inner
        self.own_origin = own_origin

    def _resolve(self, scope: dict[str, Any]) -> tuple[Client | None, int]:
        tenant = resolve_tenant(_host_from_scope(scope))
        if tenant is None:
            return None, CLOSE_UNKNOWN_HOST
        if self.own_origin and _origin_host(scope) not in _own_domains(tenant):
            return None, CLOSE_FORBIDDEN
        return tenant, 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope["type"] != "websocket":
            return await self.inner(scope, receive, send)
        tenant, refusal = await database_sync_to_async(self._resolve)(scope)
        if tenant is None:  # accepted only to be closed with the reason's code, which the browser sees
            message = await receive()
            if message["type"] == "websocket.connect":
                await send({"type": "websocket.accept"})
                await send({"type": "websocket.close", "code": refusal})
            return None
        return await self.inner(dict(scope, tenant=tenant, schema_name=tenant.schema_name), receive, send)


def in_tenant(func: Callable[..., T]) -> Callable[..., Awaitable[T]]:
    """Run a consumer's synchronous database method in a thread, inside ``self.scope['tenant']``'s schema."""

    @functools.wraps(func)
    def run_in_schema(self: Any, *args: Any, **kwargs: Any) -> T:
        with tenant_context(self.scope["tenant"]):
            return func(self, *args, **kwargs)

    return database_sync_to_async(run_in_schema)


def tenant_group(schema_name: str, name: str) -> str:
    """A channel group name that belongs to one client."""
    return f"{schema_name}.{name}"
