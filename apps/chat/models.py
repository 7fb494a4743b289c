"""The chat widget's configuration, its conversations and their messages, in each client's schema (SRC-3, §8)."""

from __future__ import annotations

from django.db import models

from apps.core.ids import uuid7


class IdentityMode(models.TextChoices):
    ANONYMOUS = "anonymous", "Anonymous visitors"
    SIGNED = "signed", "Host-signed identity (HMAC token)"


class Widget(models.Model):
    """One embeddable widget: its public key, where it may run, how it looks and when people answer."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    name = models.CharField(max_length=100)
    public_key = models.CharField(max_length=64, unique=True)
    allowed_origins = models.JSONField(default=list, help_text='e.g. ["https://www.example.com"]')
    theme = models.JSONField(default=dict, blank=True, help_text='CSS variables, e.g. {"accent": "#0b6e4f"}')
    greeting = models.CharField(max_length=500, default="Hi! How can I help?")
    persona_name = models.CharField(max_length=60, default="Gaby")
    persona_avatar_url = models.URLField(blank=True)
    business_hours = models.JSONField(
        default=dict, blank=True, help_text='{"mon": "09:00-17:00", ...} in the client\'s time zone; empty: always'
    )
    identity_mode = models.CharField(max_length=16, choices=IdentityMode.choices, default=IdentityMode.ANONYMOUS)
    # seal(client, secret, purpose=f"chat-widget:{id}"): the HMAC key the host signs visitor identities with.
    sealed_identity_secret = models.TextField(blank=True, editable=False)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def secret_purpose(self) -> str:
        return f"chat-widget:{self.pk}"


class ConversationState(models.TextChoices):
    BOT = "bot", "Gaby is answering"
    WAITING = "waiting", "Waiting for a person"
    HUMAN = "human", "A person took over"
    CLOSED = "closed", "Closed"


class ReviewState(models.TextChoices):
    NONE = "", "Not queued"
    QUEUED = "queued", "In the review queue"
    REVIEWED = "reviewed", "Reviewed"


class Conversation(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    widget = models.ForeignKey(Widget, on_delete=models.PROTECT, related_name="conversations")
    # SHA-256 of the secret the visitor's browser keeps to resume this conversation after a reload.
    resume_hash = models.CharField(max_length=64, unique=True)
    state = models.CharField(max_length=16, choices=ConversationState.choices, default=ConversationState.BOT)
    visitor_id = models.CharField(max_length=200, blank=True)
    visitor_email = models.EmailField(blank=True)
    visitor_name = models.CharField(max_length=200, blank=True)
    identity_verified = models.BooleanField(default=False)
    origin = models.CharField(max_length=300, blank=True)
    operator_id = models.UUIDField(null=True, blank=True)  # the person who took over (accounts.User, public schema)
    operator_name = models.CharField(max_length=200, blank=True)
    handoff_requested_at = models.DateTimeField(null=True, blank=True)
    ticket_id = models.UUIDField(null=True, blank=True)  # the inbox ticket created when nobody could answer
    csat_rating = models.PositiveSmallIntegerField(null=True, blank=True)
    csat_comment = models.TextField(blank=True)
    review_state = models.CharField(max_length=16, choices=ReviewState.choices, default=ReviewState.NONE, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_message_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-last_message_at"]

    def __str__(self) -> str:
        return f"{self.visitor_label} ({self.get_state_display()})"

    @property
    def visitor_label(self) -> str:
        return self.visitor_name or self.visitor_email or f"Visitor {str(self.pk)[-6:]}"


class Role(models.TextChoices):
    VISITOR = "visitor", "Visitor"
    GABY = "gaby", "Gaby"
    OPERATOR = "operator", "Operator"
    SYSTEM = "system", "System"


class ChatMessage(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    role = models.CharField(max_length=16, choices=Role.choices)
    author_label = models.CharField(max_length=200, blank=True)
    body = models.TextField()
    citations = models.JSONField(default=list, blank=True)  # [{"n": 1, "label": ..., "url": ...}]
    confidence = models.FloatField(null=True, blank=True)
    answer_mode = models.CharField(max_length=16, blank=True)  # knowledge | llm, for Gaby's answers
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.role}: {self.body[:40]}"


class OperatorPresence(models.Model):
    """An operator console open right now (one row per socket); stale rows do not count as online."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    user_id = models.UUIDField()
    channel_name = models.CharField(max_length=200, unique=True)
    last_seen = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.user_id} on {self.channel_name}"
