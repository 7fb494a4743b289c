"""Investigations, their steps and escalation notices, and the agent's per-client settings, in each client's schema."""

from __future__ import annotations

from enum import StrEnum

from django.db import models

from apps.agent.contracts import Depth, StepKind, Tone
from apps.core.ids import uuid7
from apps.core.singleton import Singleton
from apps.safety.models import NoticeChannel, NoticeState


# --- investigations (data model: investigations, investigation_steps) ----------------------------
def labelled(enum: type[StrEnum]) -> list[tuple[str, str]]:
    """Model choices straight from a contract enum (apps/agent/contracts.py), so the two cannot drift apart."""
    return [(member.value, member.value.title()) for member in enum]


class InvestigationStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


ACTIVE_STATUSES = (InvestigationStatus.QUEUED, InvestigationStatus.RUNNING)


class VerdictChoice(models.TextChoices):
    AUTO_RESOLVED = "auto_resolved", "Resolved by Gaby"
    NEEDS_TECH = "needs_tech", "Needs a technician"
    NEEDS_L2 = "needs_l2", "Needs L2 support"
    NEEDS_CLIENT = "needs_client", "Waiting on the customer"
    FAILED = "failed", "Investigation failed"


class ReplyState(models.TextChoices):
    """What became of the customer reply: by autonomy it is sent, drafted for one-click apply, or noted."""

    NONE = "none", "No reply"
    DRAFTED = "drafted", "Draft waiting for an operator"
    APPLIED = "applied", "Draft applied by an operator"
    SENT = "sent", "Sent by Gaby"
    NOTED = "noted", "Added as an internal note"
    DISCARDED = "discarded", "Discarded"


class AutonomyChoice(models.TextChoices):
    INVESTIGATE = "investigate", "Investigate (internal note only)"
    PROPOSE = "propose", "Propose (an operator applies the reply)"
    ACT = "act", "Act (Gaby replies and updates the ticket)"


class Investigation(models.Model):
    """One run of the engine on a ticket: its verdict, reply, evidence and cost (one active per ticket)."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="investigations")
    status = models.CharField(max_length=16, choices=InvestigationStatus.choices, default=InvestigationStatus.QUEUED)
    depth = models.CharField(max_length=16, choices=labelled(Depth), default=Depth.STANDARD)
    tone = models.CharField(max_length=16, choices=labelled(Tone), default=Tone.FRIENDLY)
    autonomy = models.CharField(
        max_length=16, choices=AutonomyChoice.choices, blank=True, help_text="Effective: client and source, lowest."
    )
    verdict = models.CharField(max_length=16, choices=VerdictChoice.choices, blank=True)
    confidence = models.FloatField(default=0.0)
    summary = models.TextField(blank=True, help_text="Internal summary for operators.")
    escalation_reason = models.TextField(blank=True)
    reply = models.TextField(blank=True, help_text="The customer reply, with personal data restored.")
    reply_state = models.CharField(max_length=16, choices=ReplyState.choices, default=ReplyState.NONE)
    reply_message_id = models.UUIDField(null=True, blank=True, help_text="The ticket message it became.")
    citations = models.JSONField(default=list, blank=True)
    is_infra = models.BooleanField(null=True, blank=True, help_text="SRE-2: None when nobody looked.")
    infra_evidence = models.JSONField(default=list, blank=True)
    decided_by = models.CharField(max_length=100, blank=True, help_text='"llm", "knowledge", "playbook:<name>".')
    assessment = models.JSONField(
        default=dict,
        blank=True,
        help_text="How Gaby read the ticket: requester, kind and why, language, suspicion flags with evidence.",
    )
    tokens = models.PositiveIntegerField(default=0)
    cost_usd = models.DecimalField(max_digits=12, decimal_places=6, default=0)
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Times a worker claimed it.")
    failure_reason = models.TextField(blank=True)
    triggered_by = models.CharField(max_length=32, default="auto", help_text='"auto", "user" or "rerun".')
    triggered_by_user_id = models.UUIDField(null=True, blank=True)  # accounts.User in the public schema
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["ticket"],
                condition=models.Q(status__in=["queued", "running"]),
                name="one_active_investigation_per_ticket",
            )
        ]

    def __str__(self) -> str:
        return f"Investigation of {self.ticket_id} ({self.status})"

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES


class InvestigationStep(models.Model):
    """One timeline entry: what Gaby read, queried, did or concluded, with its evidence."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    investigation = models.ForeignKey(Investigation, on_delete=models.CASCADE, related_name="steps")
    ordinal = models.PositiveIntegerField()
    kind = models.CharField(max_length=16, choices=labelled(StepKind))
    system = models.CharField(max_length=100, help_text='Where it happened: "ticket", "knowledge", a connector.')
    title = models.CharField(max_length=300)
    detail = models.TextField(blank=True)
    data = models.JSONField(null=True, blank=True)
    citations = models.JSONField(default=list, blank=True)
    action = models.ForeignKey(
        "safety.ToolAction", null=True, blank=True, on_delete=models.SET_NULL, related_name="investigation_steps"
    )
    llm_call = models.ForeignKey("llm.LLMCall", null=True, blank=True, on_delete=models.SET_NULL, related_name="steps")
    duration_ms = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["investigation", "ordinal"]
        constraints = [models.UniqueConstraint(fields=["investigation", "ordinal"], name="step_ordinal_unique")]

    def __str__(self) -> str:
        return f"{self.ordinal}. {self.title}"


class AgentSettings(Singleton):
    """The client's investigation settings: one row per client schema (``settings_for()`` creates it)."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    auto_investigate = models.BooleanField(default=True, help_text="Investigate every new inbound ticket.")
    default_depth = models.CharField(max_length=16, choices=labelled(Depth), default=Depth.STANDARD)
    tone = models.CharField(max_length=16, choices=labelled(Tone), default=Tone.FRIENDLY)
    # 0.33, together with the abstain band (a passage must also stand 0.04 ahead of the next page,
    # apps/agent/knowledge_confidence.py): calibrated on the dev split and the spent first held-out split by
    # bench/knowledge_calibration.py; never on the unseen split. (0.38 alone answered 13 of 171 tickets wrongly
    # and missed 21 answers; 0.33 with the band 10 and 7.)
    knowledge_threshold = models.FloatField(
        default=0.33, help_text="No-LLM mode: the least confidence (0-1) of a knowledge answer sent to a customer."
    )
    max_tokens = models.PositiveIntegerField(default=60000, help_text="LLM-5: tokens per investigation.")
    max_usd = models.DecimalField(max_digits=8, decimal_places=4, default=0.5, help_text="LLM-5: dollars each.")
    escalation_assignee_id = models.UUIDField(null=True, blank=True, help_text="Who escalated tickets go to.")
    escalation_email = models.EmailField(blank=True, help_text="Where escalations are announced.")
    summary_hour = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        default=7,
        help_text="FND-4: local hour (0-23) of the nightly summary email; empty: none.",
    )
    summary_recipients = models.TextField(blank=True, help_text="Comma-separated emails; empty: the client's Admins.")
    last_summary_on = models.DateField(null=True, blank=True, editable=False)
    # Slack and Teams reuse the approval channels' webhooks (Safety settings): one place for those secrets.
    escalation_slack = models.BooleanField(
        "Post escalations to Slack",
        default=False,
        help_text="Also post escalations to the Slack channel set under Safety → Approval channels.",
    )
    escalation_teams = models.BooleanField(
        "Post escalations to Teams",
        default=False,
        help_text="Also post escalations to the Teams channel set under Safety → Approval channels.",
    )

    class Meta:
        verbose_name_plural = "agent settings"

    def __str__(self) -> str:
        return "Investigation settings"


class EscalationNotice(models.Model):
    """One announcement of one escalation on one channel (email, Slack or Teams). Planned once per channel and
    claimed before sending, so a retried task never announces twice; a failure keeps its error."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    investigation = models.ForeignKey(Investigation, on_delete=models.CASCADE, related_name="notices")
    channel = models.CharField(max_length=8, choices=NoticeChannel.choices)
    recipient = models.TextField(blank=True)  # the email addresses; empty for a channel webhook
    state = models.CharField(max_length=8, choices=NoticeState.choices, default=NoticeState.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["investigation", "channel"], name="escalation_notice_once_per_channel")
        ]

    def __str__(self) -> str:
        return f"{self.channel} notice of {self.investigation_id}"
