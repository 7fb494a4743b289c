"""Tenancy for websockets, where TenantMainMiddleware does not run.

``TenantWebsocketMiddleware`` resolves the Host header to a client and puts it in the scope; an
unknown host is accepted only to be closed with code 4404 so the browser sees why. Consumers run
their database work through ``in_tenant`` so every query executes in the scope's schema, and name
channel groups with ``tenant_group`` so one client's events can never reach another's sockets.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from channels.db import database_sync_to_async
from django_tenants.utils import get_public_schema_name, schema_context, tenant_context

from tenants.models import Client, Domain

CLOSE_UNKNOWN_HOST = 4404
CLOSE_FORBIDDEN = 4403

T = TypeVar("T")


def _host_from_scope(scope: dict[str, Any]) -> str:
    for name, value in scope.get("headers", []):
        if name == b"host":
            return value.decode("latin-1").rsplit(":", 1)[0].lower().strip(".")
    return ""


def resolve_tenant(host: str) -> Client | None:
    with schema_context(get_public_schema_name()):
        domain = Domain.objects.select_related("tenant").filter(domain=host, tenant__is_active=True).first()
        return domain.tenant if domain else None


class TenantWebsocketMiddleware:
    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope["type"] != "websocket":
            return await self.inner(scope, receive, send)
        tenant = await database_sync_to_async(resolve_tenant)(_host_from_scope(scope))
        if tenant is None:
            message = await receive()
            if message["type"] == "websocket.connect":
                await send({"type": "websocket.accept"})
                await send({"type": "websocket.close", "code": CLOSE_UNKNOWN_HOST})
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
