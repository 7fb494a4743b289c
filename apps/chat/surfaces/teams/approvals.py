"""An Approve/Reject click on Gaby's approval card in Teams: the same ``enforcement.approve`` / ``reject`` the
Approvals page calls, acting as the clicking user — only when their verified Teams email is a Gaby user with the
Agent or Admin role of this client (``enforcement`` then asks for an Admin on risky actions, as everywhere)."""

from __future__ import annotations

from typing import Any

from django.db import connection

from apps.accounts.models import Membership, Role, User
from apps.auditlog import audit
from apps.auditlog.models import ActorKind
from apps.chat.surfaces.teams import cards
from apps.safety import enforcement
from apps.safety.client_settings import approval_ttl
from apps.safety.models import DecidedVia, NoticeChannel, ToolAction
from apps.safety.notify import compose
from apps.safety.notify.links import BadLink, make_token, read_token


def card_for(action: ToolAction) -> dict[str, Any]:
    client = connection.tenant  # type: ignore[attr-defined]

    def token(decision: str) -> str:
        return make_token(
            action_id=str(action.pk), decision=decision, schema=client.schema_name, channel=NoticeChannel.TEAMS
        )

    facts = [
        ("Client", client.name),
        ("Connector", action.connector.name),
        ("Tool", action.tool_name),
        ("Risk", str(action.risk)),
    ]
    return cards.approval(
        title=compose.headline(action),
        reason=action.reason,
        facts=facts,
        token_approve=token("approve"),
        token_reject=token("reject"),
    )


def decide(*, value: dict[str, Any], email: str, who: str) -> str:
    """Decide from a card's submitted data; returns what to tell the clicker (every refusal says why)."""
    client = connection.tenant  # type: ignore[attr-defined]
    try:
        claim = read_token(str(value.get("token") or ""), schema=client.schema_name, max_age=approval_ttl())
    except BadLink:
        return "This approval card has expired or is not valid here; open the Approvals page in Gaby instead."
    user = User.objects.filter(email__iexact=email, is_active=True).first() if email else None
    membership = Membership.objects.filter(user=user, client=client).first() if user else None
    if user is None or membership is None or not membership.allows(Role.AGENT):
        audit.record(
            event="approval.teams_refused",
            actor_kind=ActorKind.SYSTEM,
            payload={"action": claim.action_id, "teams_user": who, "email": email},
        )
        return f"Your Teams account is not one of {client.name}'s approvers in Gaby, so nothing was decided."
    action = ToolAction.objects.select_related("connector").filter(pk=claim.action_id).first()
    if action is None:
        return "This action no longer exists."
    note = str(value.get("note") or "").strip()
    try:
        if claim.decision == "approve":
            action = enforcement.approve(action=action, actor=user, note=note, via=DecidedVia.TEAMS)
            return f"Approved by {user.email} in Teams: {action.tool_name} will run once."
        action = enforcement.reject(action=action, actor=user, note=note, via=DecidedVia.TEAMS)
        return f"Rejected by {user.email} in Teams: {action.tool_name} will not run."
    except enforcement.ActionError as exc:
        return str(exc)
