"""Append to, verify and export the hash-chained audit log of the current schema (SAF-5).

``record`` joins the caller's transaction, so an audit row exists exactly when the change it
describes was committed. Appends are serialised per schema with a transaction-level advisory lock,
which keeps ``sequence`` gap-free and each ``prev_hash`` pointing at the true predecessor.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models.signals import post_save, pre_save
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, schema_context, tenant_context

from apps.auditlog.models import ActorKind, AuditEvent
from apps.core.compliance import profile_for

GENESIS = "0" * 64


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, cls=DjangoJSONEncoder)


def _map_text(value: Any, fn: Callable[[str], str]) -> Any:
    """Apply ``fn`` to every string of a JSON value, keys included."""
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, list):
        return [_map_text(item, fn) for item in value]
    if isinstance(value, dict):
        return {fn(key): _map_text(item, fn) for key, item in value.items()}
    return value


def _normalise(payload: dict[str, Any]) -> dict[str, Any]:
    """What the database will hand back: JSON types only (UUIDs, dates, decimals become strings), no NUL,
    and, where the client's compliance profile asks for it, PII replaced by placeholders.

    PostgreSQL's jsonb cannot hold U+0000, which untrusted text (tickets, tool output) may contain; an
    audit row must never fail the change it records, so NUL becomes U+FFFD.
    """
    profile = profile_for(getattr(connection, "tenant", None))
    redactor = profile.redactor if profile.audit_verbosity == "redacted" else None

    def clean(text: str) -> str:
        text = text.replace("\x00", "\ufffd")
        return redactor.redact(text).text if redactor is not None else text

    normalised: dict[str, Any] = _map_text(json.loads(canonical_json(payload)), clean)
    return normalised


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def compute_hash(
    *,
    sequence: int,
    occurred_at: datetime,
    actor_kind: str,
    actor_id: str,
    event: str,
    payload: dict[str, Any],
    prev_hash: str,
) -> str:
    body = canonical_json(
        {
            "sequence": sequence,
            "occurred_at": _timestamp(occurred_at),
            "actor_kind": actor_kind,
            "actor_id": actor_id,
            "event": event,
            "payload": payload,
            "prev_hash": prev_hash,
        }
    )
    return hashlib.sha256(body.encode()).hexdigest()


# The audit append is written by hand, not by ``save()`` (docs/safety/audit.md, "How an event is appended"): one
# query string of two statements. The schema's append lock first, then the link appended after the chain's head (or
# GENESIS), hashed by PostgreSQL: the body is the canonical JSON of every other field, and its keys sort so that the
# two it learns from the head come last (prev_hash, sequence). They stay two statements because PostgreSQL takes a
# fresh snapshot for each statement of a query string: the INSERT sees every event committed before the lock was
# granted, where a single statement would read with a snapshot taken before waiting for it, and two appenders could
# chain onto the same link. The lock is the transaction's: held until the writes it guards commit.
_APPEND = """
SELECT pg_advisory_xact_lock(hashtext(%s));
INSERT INTO auditlog_auditevent (id, sequence, occurred_at, actor_kind, actor_id, event, payload, prev_hash, hash)
SELECT %s, head.sequence + 1, %s, %s, %s, %s, %s, head.hash,
       encode(sha256(convert_to(%s || head.hash || '","sequence":' || (head.sequence + 1) || '}', 'UTF8')), 'hex')
FROM (
    (SELECT sequence, hash FROM auditlog_auditevent ORDER BY sequence DESC LIMIT 1)
    UNION ALL SELECT 0, repeat('0', 64) ORDER BY sequence DESC LIMIT 1
) AS head
RETURNING sequence, prev_hash, hash"""


def _body_before_head(
    *, occurred_at: datetime, actor_kind: str, actor_id: str, event: str, payload: dict[str, Any]
) -> str:
    """``compute_hash``'s body up to the head's hash: what it hashes, minus ``<prev_hash>","sequence":<n>}``."""
    body = canonical_json(
        {
            "actor_id": actor_id,
            "actor_kind": actor_kind,
            "event": event,
            "occurred_at": _timestamp(occurred_at),
            "payload": payload,
        }
    )
    return body[:-1] + ',"prev_hash":"'


def record(
    *, event: str, actor_kind: str = ActorKind.SYSTEM, actor_id: object = "", payload: dict[str, Any] | None = None
) -> AuditEvent:
    """Append one event to the current schema's chain, inside the caller's transaction: one round trip (``_APPEND``).

    No savepoint of its own: an audit row that fails to insert fails the caller's whole transaction, so the change
    it describes can never be committed without it. Outside a transaction, PostgreSQL runs the query string as one
    implicit transaction: the lock and the row are one.

    It keeps ``save()``'s contract for whatever listens: ``pre_save`` and ``post_save`` are sent for the row as
    ``save()`` sends them (``created=True``, ``raw=False``), and the row is marked stored first, as ``save()`` marks
    it (``Model._state``: https://docs.djangoproject.com/en/5.2/ref/models/instances/#django.db.models.Model._state),
    so a receiver cannot tell it from a saved one. tests/test_audit.py and tests/agent/test_orm_signals.py hold it to
    that.
    """
    row = AuditEvent(
        occurred_at=timezone.now(),
        actor_kind=actor_kind,
        actor_id=str(actor_id or ""),
        event=event,
        payload=_normalise(payload or {}),
    )
    using = connection.alias
    pre_save.send(sender=AuditEvent, instance=row, raw=False, using=using, update_fields=None)
    payload_value = AuditEvent._meta.get_field("payload").get_db_prep_save(row.payload, connection)
    before_head = _body_before_head(
        occurred_at=row.occurred_at,
        actor_kind=row.actor_kind,
        actor_id=row.actor_id,
        event=row.event,
        payload=row.payload,
    )
    key = f"gaby.audit.{getattr(connection, 'schema_name', 'public')}"
    params = [key, row.pk, row.occurred_at, row.actor_kind, row.actor_id, row.event, payload_value, before_head]
    # Inside a transaction, a failure marks it for rollback as a failed save() would.
    joined: AbstractContextManager[Any] = (
        nullcontext() if transaction.get_autocommit(using) else transaction.atomic(using=using, savepoint=False)
    )
    with joined, connection.cursor() as cursor:
        cursor.execute(_APPEND, params)
        cursor.nextset()  # the INSERT's rows, after the lock's
        row.sequence, row.prev_hash, row.hash = cursor.fetchone()
    row._state.adding, row._state.db = False, using
    post_save.send(sender=AuditEvent, instance=row, created=True, update_fields=None, raw=False, using=using)
    return row


@dataclass(frozen=True)
class ChainReport:
    checked: int
    broken_at: int | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_at is None


def verify() -> ChainReport:
    """Recompute the whole chain of the current schema; name the first link that does not hold."""
    expected_sequence, prev_hash, checked = 1, GENESIS, 0
    for row in AuditEvent.objects.order_by("sequence").iterator(chunk_size=2000):
        if row.sequence != expected_sequence:
            return ChainReport(checked, expected_sequence, f"event #{expected_sequence} is missing")
        if row.prev_hash != prev_hash:
            return ChainReport(checked, row.sequence, f"event #{row.sequence} does not point at #{row.sequence - 1}")
        digest = compute_hash(
            sequence=row.sequence,
            occurred_at=row.occurred_at,
            actor_kind=row.actor_kind,
            actor_id=row.actor_id,
            event=row.event,
            payload=row.payload,
            prev_hash=row.prev_hash,
        )
        if digest != row.hash:
            return ChainReport(checked, row.sequence, f"event #{row.sequence} was altered after it was written")
        prev_hash, expected_sequence, checked = row.hash, expected_sequence + 1, checked + 1
    return ChainReport(checked)


def export_jsonl() -> Iterator[str]:
    """Every event, oldest first, one canonical JSON object per line (for SIEM import or archiving)."""
    for row in AuditEvent.objects.order_by("sequence").iterator(chunk_size=2000):
        yield (
            canonical_json(
                {
                    "sequence": row.sequence,
                    "occurred_at": _timestamp(row.occurred_at),
                    "actor_kind": row.actor_kind,
                    "actor_id": row.actor_id,
                    "event": row.event,
                    "payload": row.payload,
                    "prev_hash": row.prev_hash,
                    "hash": row.hash,
                }
            )
            + "\n"
        )


def record_for_install(**event: Any) -> AuditEvent:
    """``record`` into the install-level chain (the public schema: client onboarding, portal events)."""
    with schema_context(get_public_schema_name()):
        return record(**event)


def record_for_client(client: Any, **event: Any) -> AuditEvent:
    """``record`` into ``client``'s own chain, whichever schema the caller is in."""
    if getattr(connection, "schema_name", None) == client.schema_name:
        return record(**event)
    with tenant_context(client):
        return record(**event)


def actor_of(actor: Any) -> dict[str, Any]:
    """Who an audit event names: an API key says who it is itself, a user by id; without either, Gaby's own work."""
    identity = getattr(actor, "audit_identity", None)
    user_id = getattr(actor, "pk", None)
    kind, actor_id = identity or (ActorKind.USER if user_id else ActorKind.SYSTEM, user_id or "")
    return {"actor_kind": kind, "actor_id": actor_id}


def record_by(event: str, actor: Any, **payload: Any) -> AuditEvent:
    """One row in the current schema's chain, in the caller's transaction, naming ``actor`` (see ``actor_of``)."""
    return record(event=event, payload=payload, **actor_of(actor))
