"""Bounded label values: which client a figure belongs to, and the kind of decider behind a verdict."""

from __future__ import annotations

from django.conf import settings
from django.db import connection

ALL_CLIENTS = "all"
DECIDERS = frozenset({"llm", "playbook", "knowledge", "triage", "failed"})


def client_label(schema: str | None = None) -> str:
    """The current (or given) client's schema name, or ``all`` when per-client labels are off
    (``GABY_METRICS_CLIENT_LABELS=false``: an install with many clients keeps its series count flat)."""
    if not settings.METRICS_CLIENT_LABELS:
        return ALL_CLIENTS
    return schema if schema is not None else str(getattr(connection, "schema_name", "public"))


def decider_label(decided_by: str) -> str:
    """``playbook:vpn-reset`` → ``playbook``: the kind of decider, never a name a client chose."""
    kind = decided_by.split(":", 1)[0].strip().lower()
    return kind if kind in DECIDERS else "other"


def status_class(status: int) -> str:
    return f"{status // 100}xx"
