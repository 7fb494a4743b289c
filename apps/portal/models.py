"""What MSP staff did to an attention item (acknowledged it, snoozed it); kept in the public schema.

An item is named by its client, its kind, its id in the client's schema and the moment it began (``item_since``):
a connector that recovers and fails again, or a ticket escalated again, is a new occurrence, and an old mark does
not hide it (apps/portal/queue.py joins on all four).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from apps.core.ids import uuid7


class Kind(models.TextChoices):
    APPROVAL = "approval", "Approval waiting"
    ESCALATION = "escalation", "Escalation"
    SLA = "sla", "SLA breached"
    CONNECTOR = "connector", "Connector failing"
    QUARANTINE = "quarantine", "Quarantined payload"


class AttentionMark(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    client = models.ForeignKey("tenants.Client", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    item_id = models.CharField(max_length=64)
    item_since = models.DateTimeField()
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    snoozed_until = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["client", "kind", "item_id"], name="attention_mark_one_per_item"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.item_id} of {self.client_id}"


class AttentionItem(models.Model):
    """One item of the attention queue as last read from its client's schema (apps/portal/snapshot.py).

    The portal reads the queue from these rows, one indexed table, instead of planning a statement over every
    client's schema on each page view; beat refreshes them every few seconds and a page refreshes them itself
    when they are older than GABY_PORTAL_ATTENTION_STALE_S."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    client = models.ForeignKey("tenants.Client", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    item_id = models.CharField(max_length=64)
    since = models.DateTimeField()
    title = models.TextField()
    detail = models.TextField(blank=True)
    target = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["client", "kind", "item_id"], name="attention_item_one_per_item"),
        ]
        indexes = [models.Index(fields=["since"], name="attention_item_since")]

    def __str__(self) -> str:
        return f"{self.kind} {self.item_id} of {self.client_id}"
