"""Signed anchors of an audit chain's head, kept outside the database, so a rewritten tail shows.

The chain alone (apps/auditlog/audit.py) catches an edited or deleted row in the middle, but someone who can write
the table can recompute every hash after the row they changed, or delete the newest events, and the chain still
holds. An anchor is the head's sequence and hash at a moment, signed with a key derived from ``GABY_MASTER_KEY``
(which the database does not hold): ``gaby audit anchor`` prints one for the operator to keep elsewhere (a log
archive, a SIEM, a ticket); ``gaby audit verify --anchor`` then proves the chain still contains that very event
at that very place and has not shrunk below it. Forging an anchor needs the master key.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from django.db import connection

from apps.auditlog.models import AuditEvent
from apps.core.secrets import derived_key

PREFIX = "ga1"
GENESIS_SEQUENCE = 0


@dataclass(frozen=True)
class Anchor:
    schema: str
    sequence: int
    hash: str

    def message(self) -> bytes:
        return f"{PREFIX}|{self.schema}|{self.sequence}|{self.hash}".encode()


def _schema() -> str:
    return str(getattr(connection, "schema_name", ""))  # django-tenants' connection knows its schema


def _signature(anchor: Anchor) -> str:
    return hmac.new(derived_key("audit-anchor"), anchor.message(), hashlib.sha256).hexdigest()


def sign_head() -> str:
    """An anchor of the current schema's head, as one line to keep outside Gaby."""
    head = AuditEvent.objects.order_by("-sequence").only("sequence", "hash").first()
    anchor = Anchor(_schema(), head.sequence if head else GENESIS_SEQUENCE, head.hash if head else "")
    return f"{PREFIX}.{anchor.schema}.{anchor.sequence}.{anchor.hash}.{_signature(anchor)}"


def check(token: str) -> str:
    """What is wrong with the current schema's chain against ``token`` ("" when it holds)."""
    parts = token.strip().split(".")
    if len(parts) != 5 or parts[0] != PREFIX or not parts[2].isdigit():
        return "the anchor is not one `gaby audit anchor` printed (ga1.<schema>.<sequence>.<hash>.<signature>)"
    anchor = Anchor(parts[1], int(parts[2]), parts[3])
    if not hmac.compare_digest(parts[4], _signature(anchor)):
        return "the anchor's signature does not hold: it was altered, or GABY_MASTER_KEY changed"
    if anchor.schema != _schema():
        return f"the anchor is of {anchor.schema!r}, not of this log ({_schema()!r})"
    if anchor.sequence == GENESIS_SEQUENCE:
        return ""
    event = AuditEvent.objects.filter(sequence=anchor.sequence).only("hash").first()
    if event is None:
        head = AuditEvent.objects.order_by("-sequence").values_list("sequence", flat=True).first() or 0
        return f"event #{anchor.sequence}, anchored, is gone: the log ends at #{head} (newest events deleted)"
    if event.hash != anchor.hash:
        return f"event #{anchor.sequence} is not the one anchored: the chain was rewritten up to it"
    return ""
