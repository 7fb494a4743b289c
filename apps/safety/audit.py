"""Append to, verify and export the hash-chained audit log of the current schema (SAF-5).

``record`` joins the caller's transaction, so an audit row exists exactly when the change it
describes was committed. Appends are serialised per schema with a transaction-level advisory lock,
which keeps ``sequence`` gap-free and each ``prev_hash`` pointing at the true predecessor.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, schema_context, tenant_context

from apps.auditlog.models import ActorKind, AuditEvent
from apps.safety.compliance import profile_for

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


def compute_hash(*, sequence: int, occurred_at: datetime, actor_kind: str, actor_id: str, event: str,
                 payload: dict[str, Any], prev_hash: str) -> str:  # fmt: skip
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


_HEAD = "SELECT sequence, hash FROM auditlog_auditevent ORDER BY sequence DESC LIMIT 1"


def _lock_and_read_head() -> tuple[int, str]:
    """Take the schema's append lock, then read the chain's last link: the next sequence and its prev_hash.

    Both statements travel in one round trip (an audit event costs two, not three). They stay two
    statements: PostgreSQL takes a fresh snapshot for each statement of a query string, so the read sees
    every event committed before the lock was granted; one statement would read with a snapshot taken
    before waiting for the lock, and two appenders could chain onto the same link.
    """
    key = f"gaby.audit.{getattr(connection, 'schema_name', 'public')}"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT pg_advisory_xact_lock(hashtext(%s)); {_HEAD}", [key])
        cursor.nextset()
        last = cursor.fetchone()
    return (last[0] + 1, last[1]) if last else (1, GENESIS)


def record(*, event: str, actor_kind: str = ActorKind.SYSTEM, actor_id: object = "",
           payload: dict[str, Any] | None = None) -> AuditEvent:  # fmt: skip
    """Append one event to the current schema's chain, inside the caller's transaction.

    No savepoint of its own (two statements fewer per event): an audit row that fails to insert fails the
    caller's whole transaction, so the change it describes can never be committed without it.
    """
    clean = _normalise(payload or {})
    with transaction.atomic(savepoint=False):
        sequence, prev_hash = _lock_and_read_head()
        occurred_at = timezone.now()
        actor = str(actor_id or "")
        digest = compute_hash(sequence=sequence, occurred_at=occurred_at, actor_kind=actor_kind, actor_id=actor,
                              event=event, payload=clean, prev_hash=prev_hash)  # fmt: skip
        return AuditEvent.objects.create(
            sequence=sequence, occurred_at=occurred_at, actor_kind=actor_kind, actor_id=actor, event=event,
            payload=clean, prev_hash=prev_hash, hash=digest,
        )  # fmt: skip


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
            sequence=row.sequence, occurred_at=row.occurred_at, actor_kind=row.actor_kind, actor_id=row.actor_id,
            event=row.event, payload=row.payload, prev_hash=row.prev_hash,
        )  # fmt: skip
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
