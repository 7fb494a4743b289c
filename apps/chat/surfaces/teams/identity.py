"""Who wrote: a Teams user's Entra object id (``from.aadObjectId``) to a verified email.

Teams does not put the email in the activity. In order: the Bot Connector's member lookup for this conversation
(``GET /v3/conversations/{id}/members/{aadObjectId}``: ``email`` / ``userPrincipalName`` from the tenant's directory,
what the SDKs' ``TeamsInfo.get_member`` reads), then the client's Microsoft 365 connector when it serves the same
tenant (Graph ``GET /users/{id}``: ``mail``, else ``userPrincipalName``). A user neither can name is refused politely
by the surface foundation (no email, no requester): never an address typed in the message.
"""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from django.db import connection

from apps.connectors.drafts import draft_of
from apps.connectors.models import Connector, Kind
from apps.connectors.servers.microsoft365.client import MICROSOFT_GRAPH, MICROSOFT_LOGIN, Graph, GraphFailure, Settings

log = logging.getLogger(__name__)


def _email(value: Any) -> str:
    text = str(value or "").strip().lower()
    return text if "@" in text and " " not in text else ""


async def from_connector(connector: Any, conversation_id: str, aad_object_id: str) -> str:
    """The member's email through the Bot Connector (``connector``: the turn's ``ConnectorClient``)."""
    if not aad_object_id:
        return ""
    try:
        member = await connector.conversations.get_conversation_member(conversation_id, aad_object_id)
    except Exception as exc:  # a 404 (not a member), a 5xx: Graph is the next place to ask
        log.info("teams member lookup failed", extra={"error": str(exc)[:200]})
        return ""
    data = member.model_dump(by_alias=True) if hasattr(member, "model_dump") else dict(member or {})
    return _email(data.get("email")) or _email(data.get("userPrincipalName"))


def from_graph(tenant_id: str, aad_object_id: str) -> str:
    """The user's email through this client's Microsoft 365 connector for ``tenant_id`` (run inside its schema)."""
    if not aad_object_id:
        return ""
    client = connection.tenant  # type: ignore[attr-defined]
    for connector in Connector.objects.filter(kind=Kind.MICROSOFT365, enabled=True).order_by("name"):
        values = draft_of(connector, client).settings
        if str(values.get("tenant_id", "")).strip().lower() != tenant_id:
            continue
        try:
            return async_to_sync(_graph_user)(values, aad_object_id)
        except GraphFailure as exc:
            log.info("teams graph lookup failed", extra={"connector": connector.name, "error": str(exc)[:200]})
    return ""


async def _graph_user(values: dict[str, Any], aad_object_id: str) -> str:
    settings = Settings(
        tenant_id=str(values["tenant_id"]),
        client_id=str(values.get("client_id", "")),
        client_secret=str(values.get("client_secret", "")),
        authority=str(values.get("authority") or MICROSOFT_LOGIN).rstrip("/"),
        graph_url=str(values.get("graph_url") or MICROSOFT_GRAPH).rstrip("/"),
        ca_file=str(values.get("ca_file") or ""),
    )
    graph = Graph(settings)
    try:
        user = await graph.call(lambda: graph.client.users.by_user_id(aad_object_id).get(), permission="User.Read.All")
    finally:
        await graph.close()
    if user is None or user.account_enabled is False:
        return ""
    return _email(user.mail) or _email(user.user_principal_name)
