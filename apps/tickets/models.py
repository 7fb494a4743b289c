"""The canonical ticket model every source maps to (SRC-1, SRC-2, SRC-5, SUP-8), one copy per client schema.

Users live in the public schema, so a ticket's assignee and a message's author are stored as user ids
(UUIDs), never as cross-schema foreign keys. Source configuration (tokens, passwords) is sealed with the
client's data key (apps/core/secrets.py) under the purpose ``ticket-source:<id>``.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.db import connection, models

from apps.core.ids import uuid7


class SourceKind(models.TextChoices):
    EMAIL = "email", "Email (IMAP + SMTP)"
    WEBHOOK = "webhook", "Generic webhook"
    ZENDESK = "zendesk", "Zendesk"
    FRESHDESK = "freshdesk", "Freshdesk"
    ZOHO = "zoho", "Zoho Desk"
    GITHUB = "github", "GitHub Issues"
    LINEAR = "linear", "Linear"
    HALOPSA = "halopsa", "HaloPSA"
    CONNECTWISE = "connectwise", "ConnectWise PSA"
    AUTOTASK = "autotask", "Autotask PSA"
    CHAT = "chat", "Chat surface (Slack, Teams)"


class Priority(models.TextChoices):
    LOW = "low", "Low"
    NORMAL = "normal", "Normal"
    HIGH = "high", "High"
    URGENT = "urgent", "Urgent"


class Status(models.TextChoices):
    NEW = "new", "New"
    OPEN = "open", "Open"
    PENDING = "pending", "Pending"
    ON_HOLD = "on_hold", "On hold"
    SOLVED = "solved", "Solved"
    CLOSED = "closed", "Closed"


class Direction(models.TextChoices):
    INBOUND = "inbound", "Inbound"
    OUTBOUND = "outbound", "Outbound"


class MessageKind(models.TextChoices):
    PUBLIC_REPLY = "public_reply", "Public reply"
    INTERNAL_NOTE = "internal_note", "Internal note"


class DeliveryState(models.TextChoices):
    """Where an outbound message is on its way to the source; claimed with a conditional UPDATE."""

    NONE = "", "Not delivered (inbound or kept in Gaby)"
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class Contact(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    email = models.EmailField(blank=True)
    name = models.CharField(max_length=200, blank=True)
    external_id = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["email"], condition=~models.Q(email=""), name="contact_unique_email"),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        if self.name and self.email:
            return f"{self.name} <{self.email}>"
        return self.name or self.email or self.external_id or "unknown"


class SourceAutonomy(models.TextChoices):
    """SAF-1/MSP-3: how far Gaby may go serving this source's tickets; apps/safety takes the most restrictive
    of the client's, the connector's and this one. Empty: this source adds no limit of its own."""

    INHERIT = "", "No limit of its own"
    INVESTIGATE = "investigate", "Investigate (read only)"
    PROPOSE = "propose", "Propose (a human approves writes)"
    ACT = "act", "Act (writes within scope)"


class TicketSource(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    kind = models.CharField(max_length=32, choices=SourceKind.choices)
    name = models.CharField(max_length=200)
    # seal_json(client, config, purpose=f"ticket-source:{id}"); read through services.source_config().
    sealed_config = models.TextField(blank=True, editable=False)
    poll_interval_seconds = models.PositiveIntegerField(default=60)
    enabled = models.BooleanField(default=True)
    cursor = models.JSONField(default=dict, blank=True)
    next_poll_at = models.DateTimeField(null=True, blank=True)
    polling_since = models.DateTimeField(null=True, blank=True)  # lease held by a running poll
    last_sync_at = models.DateTimeField(null=True, blank=True)
    last_status = models.CharField(max_length=200, blank=True)
    last_error = models.TextField(blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    autonomy = models.CharField(
        max_length=16, choices=SourceAutonomy.choices, default=SourceAutonomy.INHERIT, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def secret_purpose(self) -> str:
        return f"ticket-source:{self.pk}"


class TicketQuerySet(models.QuerySet["Ticket"]):
    def live(self) -> TicketQuerySet:
        return self.filter(deleted_at__isnull=True)


class Ticket(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    source = models.ForeignKey(TicketSource, on_delete=models.PROTECT, related_name="tickets")
    external_id = models.CharField(max_length=300)
    title = models.CharField(max_length=500)
    body = models.TextField(blank=True)
    contact = models.ForeignKey(Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="tickets")
    # The channel's verdict on the requester's identity, as recorded when the ticket arrived: for email the
    # receiving server's Authentication-Results ("spf=pass dkim=pass dmarc=fail"); "" when the channel gave none.
    requester_authentication = models.CharField(max_length=200, blank=True)
    priority = models.CharField(max_length=16, choices=Priority.choices, default=Priority.NORMAL)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.NEW)
    sla_due_at = models.DateTimeField(null=True, blank=True)
    tags = ArrayField(models.CharField(max_length=100), default=list, blank=True)
    assignee_id = models.UUIDField(null=True, blank=True)  # accounts.User in the public schema
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    # Maintained by PostgreSQL itself on every write, so no code path can forget it.
    search = models.GeneratedField(
        expression=SearchVector("title", weight="A", config="english")
        + SearchVector("body", weight="B", config="english"),
        output_field=SearchVectorField(),
        db_persist=True,
    )

    objects = TicketQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id"], name="ticket_unique_source_external_id"),
        ]
        indexes = [
            models.Index(
                fields=["-updated_at", "-id"], name="ticket_inbox_order", condition=models.Q(deleted_at__isnull=True)
            ),
            models.Index(fields=["status", "-updated_at"], name="ticket_status_updated"),
            models.Index(fields=["assignee_id"], name="ticket_assignee"),
            GinIndex(fields=["search"], name="ticket_search"),
            GinIndex(fields=["tags"], name="ticket_tags"),
        ]

    def __str__(self) -> str:
        return self.title


def attachment_path(instance: Attachment, filename: str) -> str:
    """MEDIA_ROOT/<schema>/tickets/<ticket>/<sha256>/<name>: per client on disk, never colliding."""
    name = PurePosixPath(filename.replace("\\", "/")).name or "attachment"
    schema = connection.schema_name  # type: ignore[attr-defined]
    return f"{schema}/tickets/{instance.message.ticket_id}/{instance.sha256[:16]}/{name}"


class Message(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages")
    direction = models.CharField(max_length=16, choices=Direction.choices)
    kind = models.CharField(max_length=16, choices=MessageKind.choices, default=MessageKind.PUBLIC_REPLY)
    author_label = models.CharField(max_length=300, blank=True)
    author_user_id = models.UUIDField(null=True, blank=True)  # accounts.User in the public schema
    body = models.TextField(blank=True)
    # The source's id for the message; for email the Message-ID header. Unique per ticket when present.
    external_id = models.CharField(max_length=500, blank=True)
    delivery_state = models.CharField(max_length=16, choices=DeliveryState.choices, blank=True, default="")
    delivery_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["ticket", "external_id"], condition=~models.Q(external_id=""), name="message_unique_external_id"
            ),
        ]
        indexes = [models.Index(fields=["external_id"], name="message_external_id")]

    def __str__(self) -> str:
        return f"{self.get_direction_display()} {self.get_kind_display()} on {self.ticket_id}"


class Attachment(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    filename = models.CharField(max_length=300)
    content_type = models.CharField(max_length=200, default="application/octet-stream")
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    file = models.FileField(upload_to=attachment_path, max_length=500, blank=True)
    # The help desk's id for the file (Zendesk/Freshdesk attachment id): a re-pull never stores it twice.
    external_id = models.CharField(max_length=200, blank=True)
    # Why the file could not be fetched (too large, vendor refused): the message is kept, the file is not.
    error = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["message", "external_id"],
                condition=~models.Q(external_id=""),
                name="attachment_unique_external_id",
            ),
        ]

    def __str__(self) -> str:
        return self.filename


class PushField(models.TextChoices):
    STATUS = "status", "Status"
    PRIORITY = "priority", "Priority"
    TAGS = "tags", "Tags"
    ASSIGNEE = "assignee", "Assignee"


class PushState(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class TicketPush(models.Model):
    """An operator's change of one ticket field on its way to the help desk (write-back).

    One row per ticket and field. Each change bumps ``version``; a push task names the version it
    carries and claims the row with a conditional UPDATE, so a retried or late task never sends a
    version twice nor an older value over a newer one. ``pushed_version`` is the last one the help
    desk confirmed.
    """

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="pushes")
    field = models.CharField(max_length=16, choices=PushField.choices)
    value = models.JSONField(null=True, blank=True)  # status/priority text, tag list, assignee email ("" = none)
    version = models.PositiveIntegerField(default=0)
    pushed_version = models.PositiveIntegerField(default=0)
    state = models.CharField(max_length=16, choices=PushState.choices, default=PushState.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["ticket", "field"], name="ticket_push_unique_field")]

    def __str__(self) -> str:
        return f"{self.field} of {self.ticket_id} v{self.version}: {self.state}"


class QuarantinedPayload(models.Model):
    """A payload that could not be turned into a ticket: kept with its error, never dropped."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    source = models.ForeignKey(TicketSource, on_delete=models.CASCADE, related_name="quarantined")
    received_at = models.DateTimeField(auto_now_add=True)
    raw = models.TextField()
    content_type = models.CharField(max_length=200, blank=True)
    error = models.TextField()
    resolved = models.BooleanField(default=False)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.source} at {self.received_at:%Y-%m-%d %H:%M}: {self.error[:60]}"


class SavedView(models.Model):
    """An inbox filter someone named, to come back to with its count (its query string, as the inbox reads it)."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    user_id = models.UUIDField()  # accounts.User in the public schema
    name = models.CharField(max_length=60)
    query = models.CharField(max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["user_id", "name"], name="saved_view_unique_name")]

    def __str__(self) -> str:
        return self.name


# Outbound webhooks live in their own module; imported here so Django registers them with this app.
from apps.tickets.outbound.models import (  # noqa: E402
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)

__all__ = [
    "Attachment",
    "Contact",
    "Message",
    "QuarantinedPayload",
    "SavedView",
    "Ticket",
    "TicketPush",
    "TicketSource",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookEvent",
]
