"""Bulk actions on attention items: acknowledge, snooze, and retry quarantined payloads. Each one is written to the
audit chain of the client the item belongs to, in the same transaction as its effect.

Approvals are deliberately not decided here, in bulk or one by one. An approval is the safety gate's human check
(SAF-3): the person approving reads that call's exact arguments, its risk, its dry run and who asked, on the client's
approval page, where the Admin-only threshold for risky actions is enforced. A checkbox across clients would turn
that check into a rubber stamp. Approvals can be acknowledged or snoozed here like any item; each row opens the
client's approval queue, signed in, to decide.

The items acted on are read again from the clients' schemas (their clients' items refreshed, then ``queue.read``
with their keys), never trusted from the form: a key naming a client the user cannot act in, or an item that is
gone, is skipped and counted. After the action those clients' items are read again, so the queue shows its effect.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django_tenants.utils import tenant_context

from apps.accounts.models import User
from apps.auditlog.audit import record
from apps.auditlog.models import ActorKind
from apps.portal import snapshot
from apps.portal.models import AttentionMark, Kind
from apps.portal.queue import Filters, Item, Reach, read
from apps.tickets.models import QuarantinedPayload
from apps.tickets.quarantine_retry import retry_quarantined

ACTIONS = {"acknowledge": "Acknowledged", "snooze": "Snoozed", "retry": "Retried"}
SNOOZES = {"1h": timedelta(hours=1), "1d": timedelta(days=1), "7d": timedelta(days=7)}
MAX_ITEMS = 200


class ActionError(ValueError):
    """A bulk action that cannot run as asked; the message says what to fix."""


@dataclass
class Outcome:
    action: str
    done: int = 0
    skipped: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def message(self) -> str:
        text = f"{ACTIONS[self.action]} {self.done} item{'s' if self.done != 1 else ''}."
        if self.skipped:
            text += f" {self.skipped} skipped."
        return text


def act(
    user: User,
    reach: Sequence[Reach],
    *,
    action: str,
    keys: Sequence[str],
    snooze: str = "",
    now: datetime | None = None,
) -> Outcome:
    if action not in ACTIONS:
        raise ActionError(f"Unknown action {action!r}: pick one of {', '.join(ACTIONS)}.")
    if action == "snooze" and snooze not in SNOOZES:
        raise ActionError(f"Snooze for how long? Pick one of {', '.join(SNOOZES)}.")
    keys = list(dict.fromkeys(k for k in keys if k))
    if not keys:
        raise ActionError("Select at least one item.")
    if len(keys) > MAX_ITEMS:
        raise ActionError(f"Select at most {MAX_ITEMS} items at a time.")
    now = now or timezone.now()
    actionable = [r for r in reach if r.can_act]
    named = {key.split("|", 1)[0] for key in keys}
    schemas = [r.client.schema_name for r in actionable if r.client.slug in named]
    snapshot.refresh(schemas, now=now)
    items = read(actionable, Filters(state="all"), keys=keys, now=now, limit=len(keys)).items
    outcome = Outcome(action=action, skipped=len(keys) - len(items))
    if outcome.skipped:
        outcome.problems.append(
            f"{outcome.skipped} item(s) are gone or in a client where you are not an Agent or Admin."
        )
    by_client: dict[str, list[Item]] = defaultdict(list)
    for item in items:
        by_client[item.client.schema_name].append(item)
    for group in by_client.values():
        client = group[0].client
        with tenant_context(client), transaction.atomic():
            for item in group:
                if action == "retry":
                    _retry(user, item, outcome)
                else:
                    _mark(user, item, action, until=now + SNOOZES[snooze] if action == "snooze" else None, now=now)
                    outcome.done += 1
    if action == "retry":
        snapshot.refresh(schemas)
    return outcome


def _audit(user: User, event: str, item: Item, **extra: object) -> None:
    """One row in the current schema's chain: the item's client, inside the action's transaction."""
    payload = {"kind": item.kind, "item_id": item.item_id, "title": item.title, "since": item.since, **extra}
    record(event=event, actor_kind=ActorKind.USER, actor_id=user.pk, payload=payload)


def _mark(user: User, item: Item, action: str, *, until: datetime | None, now: datetime) -> None:
    mark, _ = AttentionMark.objects.select_for_update().get_or_create(
        client=item.client, kind=item.kind, item_id=item.item_id, defaults={"item_since": item.since}
    )
    if mark.item_since != item.since:  # a new occurrence of the same thing: the old marks do not carry over
        mark.item_since, mark.acknowledged_at, mark.acknowledged_by, mark.snoozed_until = item.since, None, None, None
    if action == "acknowledge":
        mark.acknowledged_at, mark.acknowledged_by = now, user
        _audit(user, "portal.attention.acknowledged", item)
    else:
        mark.snoozed_until = until
        _audit(user, "portal.attention.snoozed", item, until=until)
    mark.save()


def _retry(user: User, item: Item, outcome: Outcome) -> None:
    if item.kind != Kind.QUARANTINE:
        outcome.skipped += 1
        outcome.problems.append(f"{item.client.name}: {item.title} is not a quarantined payload; only those retry.")
        return
    payload = QuarantinedPayload.objects.select_related("source").filter(pk=item.item_id).first()
    if payload is None:
        outcome.skipped += 1
        return
    result = retry_quarantined(client=item.client, payload=payload)
    _audit(user, "portal.quarantine.retried", item, ok=result.ok, reason=result.reason, ticket_id=result.ticket_id)
    if result.ok:
        outcome.done += 1
    else:
        outcome.skipped += 1
        outcome.problems.append(f"{item.client.name}: {item.title}: {result.reason}")
