"""Safety records kept in each client's schema: allow/deny rules and every tool action with its decision."""

from __future__ import annotations

from django.db import models

from apps.auditlog.models import ActorKind
from apps.core.ids import uuid7
from apps.core.singleton import Singleton


class RuleEffect(models.TextChoices):
    ALLOW = "allow", "Allow"
    DENY = "deny", "Deny"


class SafetyRule(models.Model):
    """SAF-4: allow or deny tool calls by connector, tool-name pattern and argument predicates."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    effect = models.CharField(max_length=8, choices=RuleEffect.choices)
    connector = models.ForeignKey(
        "connectors.Connector", null=True, blank=True, on_delete=models.CASCADE, help_text="Empty: every connector."
    )
    tool_pattern = models.CharField(max_length=200, default="*", help_text="Glob, e.g. restart_* or *.")
    predicates = models.JSONField(
        default=list, blank=True, help_text='e.g. [{"argument": "namespace", "op": "eq", "value": "staging"}]'
    )
    label = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["effect", "tool_pattern"]

    def __str__(self) -> str:
        return self.label or f"{self.effect} {self.tool_pattern}"


class ActionStatus(models.TextChoices):
    DENIED = "denied", "Denied"
    AWAITING_APPROVAL = "awaiting_approval", "Awaiting approval"
    APPROVED = "approved", "Approved, queued"
    REJECTED = "rejected", "Rejected"
    EXPIRED = "expired", "Expired"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    DRY_RUN = "dry_run", "Dry run shown"
    ROLLED_BACK = "rolled_back", "Rolled back"


class NoticeChannel(models.TextChoices):
    EMAIL = "email", "Email"
    SLACK = "slack", "Slack"
    TEAMS = "teams", "Microsoft Teams"


class DecidedVia(models.TextChoices):
    """Where a human decided an approval: Gaby's web queue, or a notice channel's link or button."""

    WEB = "web", "Web"
    EMAIL = NoticeChannel.EMAIL.value, NoticeChannel.EMAIL.label
    SLACK = NoticeChannel.SLACK.value, NoticeChannel.SLACK.label
    TEAMS = NoticeChannel.TEAMS.value, NoticeChannel.TEAMS.label


class ToolAction(models.Model):
    """One tool call as the enforcement point saw it: the decision, and what became of it."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    idempotency_key = models.CharField(max_length=200, unique=True)
    connector = models.ForeignKey("connectors.Connector", on_delete=models.PROTECT, related_name="actions")
    tool_name = models.CharField(max_length=200)
    arguments = models.JSONField(default=dict)
    access = models.CharField(max_length=8)
    actor_kind = models.CharField(max_length=16, choices=ActorKind.choices)
    actor_id = models.CharField(max_length=64, blank=True)
    purpose = models.CharField(
        max_length=300, blank=True, help_text="Why the call was made (investigation step, button)."
    )
    outcome = models.CharField(max_length=16)  # policy.Outcome
    reason = models.TextField()
    risk = models.PositiveSmallIntegerField(default=0)
    status = models.CharField(max_length=20, choices=ActionStatus.choices)
    result_text = models.TextField(blank=True)
    result_is_error = models.BooleanField(default=False)
    # Secrets the tool returned (apps/safety/tool_secrets.py), sealed for this client; erased once shown.
    sealed_secrets = models.TextField(blank=True, editable=False)
    secrets_revealed_at = models.DateTimeField(null=True, blank=True)
    inverse = models.JSONField(null=True, blank=True, help_text='SAF-6: {"tool": ..., "arguments": {...}} to undo it.')
    rollback_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="rollbacks")
    decided_by = models.CharField(max_length=64, blank=True)
    decision_note = models.TextField(blank=True)
    decided_via = models.CharField(max_length=8, blank=True, choices=DecidedVia.choices)
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    executed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.tool_name} ({self.get_status_display()})"


class SafetySettings(Singleton):
    """This client's safety settings kept in its own schema (one row): approval expiry and approval channels.

    Autonomy, approval threshold and compliance profile live on ``tenants.Client`` (the MSP portal reads them);
    the per-client safety settings page edits both. Channel secrets (Slack webhook URL and signing secret,
    Teams webhook URL) are sealed with the client's data key, purpose ``safety:channels``.
    """

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    approval_ttl_hours = models.PositiveSmallIntegerField(
        default=24, help_text="SAF-3: hours an action waits for a decision before it expires (1-720)."
    )
    notify_email = models.BooleanField(default=True, help_text="Email approvers a signed approve/reject link.")
    admin_approval_risk = models.PositiveSmallIntegerField(
        default=60,
        help_text="An action at or above this risk (0-100) is approved by an Admin of this client only; 101: anyone.",
    )
    sealed_channels = models.TextField(blank=True, editable=False)
    channel_names = models.JSONField(default=list, blank=True, editable=False, help_text="Names of sealed settings.")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return "Safety settings"


class NoticeState(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class ApprovalNotice(models.Model):
    """One approval request sent (or to send) on one channel to one recipient; claimed before sending so a
    retried task never notifies twice."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    action = models.ForeignKey(ToolAction, on_delete=models.CASCADE, related_name="notices")
    channel = models.CharField(max_length=8, choices=NoticeChannel.choices)
    recipient = models.CharField(max_length=254, blank=True, help_text="Email address; empty for a channel post.")
    state = models.CharField(max_length=8, choices=NoticeState.choices, default=NoticeState.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(fields=["action", "channel", "recipient"], name="approval_notice_unique")
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} notice for {self.action_id}"


class AuthorizedContact(models.Model):
    """A person an Admin allows to request for colleagues (an MSP client's office manager, GOV-5, MSP-1).

    Their requests for other people's accounts run under the normal policy instead of waiting for a human;
    every such call is still recorded as on behalf of another person."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    email = models.EmailField(unique=True, help_text="Their verified sender address, lower-case.")
    name = models.CharField(max_length=200, blank=True)
    note = models.CharField(max_length=300, blank=True, help_text="Why they may ask for others.")
    added_by = models.UUIDField(null=True, blank=True)  # accounts.User in the public schema
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.name or self.email
