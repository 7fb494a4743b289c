"""Which client a Slack workspace or Teams tenant belongs to, and installing a surface for a client.

One events URL serves every client: the adapter reads the workspace id from the verified event, finds its client
through the public schema's ``SurfaceRoute`` and runs ``receive`` inside that client's schema. A workspace without a
route is refused (and logged). ``install`` writes the client's ``ChatSurfaceInstall`` (the bot token sealed with the
client's own key) and the route together; a workspace already routed to another client is refused.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from uuid import UUID

from django.db import IntegrityError, connection, transaction
from django_tenants.utils import schema_context, tenant_context

from apps.chat.models import ChatSurfaceInstall
from apps.core.secrets import seal, unseal
from tenants.models import Client, SurfaceRoute

log = logging.getLogger(__name__)


class InstallError(ValueError):
    """The install cannot be done as asked; the message says why."""


def client_for(kind: str, workspace_id: str) -> Client | None:
    """The active client this workspace is installed for (public schema), or None (logged)."""
    with schema_context("public"):
        route = SurfaceRoute.objects.select_related("client").filter(kind=kind, workspace_id=workspace_id).first()
    if route is None or not route.client.is_active:
        log.warning("chat surface event from an unknown workspace", extra={"surface": kind, "workspace": workspace_id})
        return None
    return route.client


def install(
    *,
    client: Client,
    kind: str,
    workspace_id: str,
    display_name: str,
    bot_token: str,
    bot_user_id: str = "",
    installed_by: UUID | None = None,
    channels: Iterable[str] = (),
) -> ChatSurfaceInstall:
    """Install (or re-install, refreshing the token) a surface for ``client``: its install row and its route."""
    if not workspace_id:
        raise InstallError("The platform did not say which workspace was installed.")
    with schema_context("public"):
        taken = SurfaceRoute.objects.filter(kind=kind, workspace_id=workspace_id).exclude(client=client).exists()
        if taken:
            raise InstallError(f"This {kind} workspace is already connected to another client; remove it there first.")
        try:
            with transaction.atomic():
                SurfaceRoute.objects.get_or_create(kind=kind, workspace_id=workspace_id, defaults={"client": client})
        except IntegrityError:
            raise InstallError(f"This {kind} workspace was just connected to another client.") from None
    with tenant_context(client):
        row, _created = ChatSurfaceInstall.objects.get_or_create(
            kind=kind,
            workspace_id=workspace_id,
            defaults={"display_name": display_name, "installed_by": installed_by, "channels": list(channels)},
        )
        row.display_name = display_name or row.display_name
        row.bot_user_id = bot_user_id or row.bot_user_id
        row.sealed_bot_token = seal(client, bot_token, purpose=row.secret_purpose) if bot_token else ""
        row.enabled = True
        row.save()
    return row


def uninstall(*, client: Client, install_row: ChatSurfaceInstall) -> None:
    """Disable the install and drop its route: the workspace's events are refused from now on."""
    with tenant_context(client):
        ChatSurfaceInstall.objects.filter(pk=install_row.pk).update(enabled=False, sealed_bot_token="")
    with schema_context("public"):
        SurfaceRoute.objects.filter(
            kind=install_row.kind, workspace_id=install_row.workspace_id, client=client
        ).delete()


def current_client() -> Client:
    """The client whose schema is active: the connection's tenant, read from the public table when the connection
    only knows the schema's name (a Celery task run in place: tenant-schemas-celery sets a stand-in tenant)."""
    tenant = getattr(connection, "tenant", None)
    if isinstance(tenant, Client):
        return tenant
    return Client.objects.get(schema_name=connection.schema_name)  # type: ignore[attr-defined]


def bot_token(client: Client, install_row: ChatSurfaceInstall) -> str:
    if not install_row.sealed_bot_token:
        return ""
    return unseal(client, install_row.sealed_bot_token, purpose=install_row.secret_purpose)
