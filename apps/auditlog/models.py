"""The hash-chained audit log's table (SAF-5); apps/auditlog/audit.py appends to it and verifies it."""

from __future__ import annotations

from django.db import models

from apps.core.ids import uuid7


class ActorKind(models.TextChoices):
    USER = "user", "User"
    AGENT = "agent", "Gaby"
    SYSTEM = "system", "System"


class AuditEvent(models.Model):
    """One link of the append-only, hash-chained audit log (SAF-5).

    ``hash`` = SHA-256 of the canonical JSON of every other field plus ``prev_hash``; the database
    refuses UPDATE, DELETE and TRUNCATE on this table (migration 0002), and ``gaby audit verify``
    recomputes the chain.
    """

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    sequence = models.BigIntegerField(unique=True)
    occurred_at = models.DateTimeField()
    actor_kind = models.CharField(max_length=16, choices=ActorKind.choices)
    actor_id = models.CharField(max_length=64, blank=True)
    event = models.CharField(max_length=64, db_index=True)
    payload = models.JSONField(default=dict)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["-sequence"]

    def __str__(self) -> str:
        return f"#{self.sequence} {self.event}"
