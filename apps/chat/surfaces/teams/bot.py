"""One Teams turn, inside the client the view routed it to: a message becomes the surface foundation's ``Inbound``
(``receive`` dedupes it, finds the thread's conversation and queues the answer), a card click decides an approval.
What the user must be told at once (a refusal, a decision) is replied in their thread through the turn's context."""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import sync_to_async
from django_tenants.utils import tenant_context
from microsoft_agents.activity import Activity
from microsoft_agents.hosting.core import TurnContext

from apps.chat.surfaces.base import Received, receive
from apps.chat.surfaces.teams import approvals, identity
from apps.chat.surfaces.teams.host import connector_for
from apps.chat.surfaces.teams.inbound import heard, tenant_of
from tenants.models import Client

log = logging.getLogger(__name__)


class GabyTeamsBot:
    """The SDK's ``Agent`` protocol (``on_turn``) for one routed client."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.outcome: Received | None = None

    async def on_turn(self, context: TurnContext) -> None:
        activity = context.activity
        if activity.type != "message":
            return  # conversationUpdate (installed, members added), typing, reactions: nothing to answer
        if isinstance(activity.value, dict) and activity.value.get("gaby") == "decide":
            await self._decide(context, activity)
            return
        message = heard(activity)
        if message is None:
            return
        email = await self._email(activity, message.aad_object_id)
        self.outcome = await sync_to_async(self._receive)(message.inbound(email))
        if self.outcome.reply:
            await context.send_activity(self.outcome.reply)

    async def _email(self, activity: Activity, aad_object_id: str) -> str:
        given = getattr(activity.from_property, "email", None)
        if given:
            return str(given).strip().lower()
        conversation_id = activity.conversation.id if activity.conversation else ""
        connector = await connector_for(activity.service_url or "")
        try:
            email = await identity.from_connector(connector, conversation_id, aad_object_id)
        finally:
            await connector.close()
        if email:
            return email
        return await sync_to_async(self._graph_email)(tenant_of(activity), aad_object_id)

    def _graph_email(self, tenant_id: str, aad_object_id: str) -> str:
        with tenant_context(self.client):
            return identity.from_graph(tenant_id, aad_object_id)

    def _receive(self, inbound: Any) -> Received:
        with tenant_context(self.client):
            return receive(inbound)

    async def _decide(self, context: TurnContext, activity: Activity) -> None:
        sender = activity.from_property
        value: dict[str, Any] = activity.value if isinstance(activity.value, dict) else {}
        email = await self._email(activity, str(getattr(sender, "aad_object_id", "") or ""))
        who = str(getattr(sender, "name", "") or getattr(sender, "id", ""))

        def run() -> str:
            with tenant_context(self.client):
                return approvals.decide(value=value, email=email, who=who)

        await context.send_activity(await sync_to_async(run)())
