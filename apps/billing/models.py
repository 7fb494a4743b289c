"""The time ledger and the billing rules of one client (in the client's schema).

A ``TimeRecord`` is a piece of work on a ticket, measured: an investigation (started → finished) or an operator's
reply or note (the ticket page opened → the message sent, apps/billing/clock.py). Every record stays in the ledger;
the client's ``BillingRule`` decides whether it is written to the ticket's PSA and how many minutes are billed.
"""

from __future__ import annotations

from django.db import models

from apps.core.ids import uuid7


class WorkKind(models.TextChoices):
    INVESTIGATION = "investigation", "Investigation"
    REPLY = "reply", "Reply"
    NOTE = "note", "Internal note"


class Worker(models.TextChoices):
    GABY = "gaby", "Gaby"
    OPERATOR = "operator", "Operator"


class WriteState(models.TextChoices):
    NOT_BILLED = "not_billed", "Kept, not billed"
    QUEUED = "queued", "Waiting to be written"
    WRITING = "writing", "Being written"
    WRITTEN = "written", "Written to the PSA"
    UNCONFIRMED = "unconfirmed", "Not confirmed"
    FAILED = "failed", "Failed"


class BillingRule(models.Model):
    """What is written back for a client's time: one default rule (no source) and optional per-source rules."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    source = models.OneToOneField(
        "tickets.TicketSource", null=True, blank=True, on_delete=models.CASCADE, related_name="billing_rule"
    )
    billable = models.BooleanField(default=True, help_text="Off: time is recorded but never written back.")
    bill_gaby = models.BooleanField(default=True, help_text="Write Gaby's own investigation time.")
    bill_operators = models.BooleanField(default=True, help_text="Write operators' replies and notes.")
    minimum_minutes = models.PositiveSmallIntegerField(default=2, help_text="Work shorter than this is not billed.")
    rounding_minutes = models.PositiveSmallIntegerField(default=6, help_text="Billed time is rounded up to this.")
    work_type = models.CharField(max_length=100, blank=True, help_text="Charge rate / work type id in the PSA.")
    role = models.CharField(max_length=100, blank=True, help_text="Work role, written into the note.")
    agreement_id = models.CharField(max_length=100, blank=True, help_text="Contract / agreement id in the PSA.")
    member_id = models.CharField(max_length=100, blank=True, help_text="Gaby's own agent / member id in the PSA.")
    note_template = models.TextField(
        default="{{ worker }}: {{ kind }} on ticket {{ ticket.external_id }} ({{ minutes }} min worked)",
        help_text="Sandboxed Jinja: ticket, kind, worker, minutes, billed_minutes, summary, role.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            # One default rule: NULLs compare equal here (PostgreSQL 15+ NULLS NOT DISTINCT).
            models.UniqueConstraint(fields=["source"], nulls_distinct=False, name="billing_rule_one_per_source"),
            models.CheckConstraint(condition=models.Q(rounding_minutes__gte=1), name="billing_rule_rounding_positive"),
        ]

    def __str__(self) -> str:
        return f"Billing rule for {self.source or 'every source'}"


class TimeRecord(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="time_records")
    kind = models.CharField(max_length=16, choices=WorkKind.choices)
    worker = models.CharField(max_length=16, choices=Worker.choices)
    worker_label = models.CharField(max_length=300, blank=True)
    user_id = models.UUIDField(null=True, blank=True)  # accounts.User in the public schema, for operators
    # What the record measures; exactly one per investigation and per message, so a replayed signal adds nothing.
    investigation = models.OneToOneField(
        "agent.Investigation", null=True, blank=True, on_delete=models.SET_NULL, related_name="time_record"
    )
    message = models.OneToOneField(
        "tickets.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="time_record"
    )
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField()
    seconds = models.PositiveIntegerField(help_text="Measured work, in seconds.")
    billed_minutes = models.PositiveIntegerField(default=0)
    billable = models.BooleanField(default=False)
    work_type = models.CharField(max_length=100, blank=True)
    agreement_id = models.CharField(max_length=100, blank=True)
    member_id = models.CharField(max_length=100, blank=True)
    note = models.TextField(blank=True)
    state = models.CharField(max_length=16, choices=WriteState.choices, db_index=True)
    reason = models.TextField(blank=True, help_text="Why it is not billed, or why the last write failed.")
    attempts = models.PositiveSmallIntegerField(default=0)
    attempted_at = models.DateTimeField(null=True, blank=True, help_text="When the last write was started.")
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    external_id = models.CharField(max_length=200, blank=True, help_text="The PSA's id for the written entry.")
    written_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="time_record_due")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} by {self.worker_label or self.get_worker_display()} on {self.ticket_id}"

    @property
    def minutes_worked(self) -> float:
        return round(self.seconds / 60, 1)
