"""Secrets a tool hands back (a reset's temporary password): sealed for the client, shown once to the approver.

A connector names them in its result: ``{"temporary_password": "…", "gaby_secrets": ["temporary_password"]}``.
Before the result is stored, ``keep_apart`` replaces each value, in the structured result and in its text, with
``SEALED``; the values are sealed with the client's data key (apps/core/secrets.py) on the action. Everything that
reads the result — the audit chain and its export, the investigation's steps and evidence bundle, the reply, what a
model is given, the logs — reads the redacted text, because there is no other. ``reveal`` opens the sealed values
once, for the person who approved the action (an Admin when it ran without an approval), and forgets them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.accounts.access import membership_for
from apps.accounts.models import Role, User
from apps.auditlog import audit
from apps.auditlog.models import ActorKind
from apps.core.secrets import seal_json, unseal_json
from apps.safety.client_settings import approval_ttl
from apps.safety.models import ToolAction
from tenants.models import Client

SECRETS_KEY = "gaby_secrets"
SEALED = "[sealed: shown once to the approver]"


class RevealError(Exception):
    """Why the secrets cannot be shown; ``status`` is the HTTP status a page answers with."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Kept:
    text: str  # the result's text with every secret value replaced by SEALED
    secrets: dict[str, str]  # what was taken out, by the result's key


def keep_apart(text: str, structured: Any) -> Kept:
    """Take the values a result names under ``gaby_secrets`` out of its text."""
    if not isinstance(structured, dict) or not isinstance(structured.get(SECRETS_KEY), list):
        return Kept(text, {})
    found = {
        str(key): str(structured[key])
        for key in structured[SECRETS_KEY]
        if isinstance(structured.get(key), str | int) and str(structured[key])
    }
    for value in sorted(found.values(), key=len, reverse=True):
        # As it is in the text: plain, and as JSON writes it (quotes, backslashes, non-ASCII escaped).
        for form in {value, json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1]}:
            text = text.replace(form, SEALED)
    return Kept(text, found)


def purpose(action: ToolAction) -> str:
    return f"tool-action:{action.pk}"


def seal_secrets(client: Client, action: ToolAction, secrets: dict[str, str]) -> str:
    return seal_json(client, secrets, purpose=purpose(action)) if secrets else ""


def may_reveal(action: ToolAction, user: User, client: Client) -> bool:
    """The approver of the action; for an action that ran without one, an Admin of the client."""
    if action.decided_by:
        return action.decided_by == str(user.pk)
    membership = membership_for(user, client)
    return membership is not None and membership.role == Role.ADMIN


def forget_unrevealed() -> int:
    """Erase the sealed secrets nobody looked at within the approval time (beat, with the expiring approvals): a
    temporary password no one was given is of no use, and kept, it is one more secret to lose."""
    cutoff = timezone.now() - approval_ttl()
    stale = list(
        ToolAction.objects.filter(executed_at__lte=cutoff).exclude(sealed_secrets="").values_list("pk", "tool_name")
    )
    for pk, tool in stale:
        with transaction.atomic():
            if ToolAction.objects.filter(pk=pk).exclude(sealed_secrets="").update(sealed_secrets=""):
                audit.record(event="tool.secret_expired", payload={"action": str(pk), "tool": tool})
    return len(stale)


def reveal(*, action: ToolAction, user: User, client: Client) -> dict[str, str]:
    """The sealed secrets of ``action``, once: the sealed value is erased in the same transaction, and audited
    (which keys, not their values)."""
    if not may_reveal(action, user, client):
        raise RevealError(
            "Only the person who approved this action can see what it returned in confidence.", status=403
        )
    with transaction.atomic():
        locked = ToolAction.objects.select_for_update().get(pk=action.pk)
        if not locked.sealed_secrets:
            when = locked.secrets_revealed_at
            if when is None:
                raise RevealError(
                    "It is no longer kept: nobody looked at it within the approval time, so it was erased.", status=410
                )
            raise RevealError(
                f"It was already shown on {when:%Y-%m-%d %H:%M} UTC: it is shown once. "
                "Run the action again for a new one.",
                status=410,
            )
        secrets = unseal_json(client, locked.sealed_secrets, purpose=purpose(locked))
        ToolAction.objects.filter(pk=locked.pk).update(sealed_secrets="", secrets_revealed_at=timezone.now())
        audit.record(
            event="tool.secret_revealed",
            actor_kind=ActorKind.USER,
            actor_id=user.pk,
            payload={"action": str(locked.pk), "tool": locked.tool_name, "keys": sorted(secrets)},
        )
    return {str(k): str(v) for k, v in secrets.items()}
