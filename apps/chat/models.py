"""The chat widget's configuration, its conversations and their messages, in each client's schema (SRC-3, §8)."""

from __future__ import annotations

from django.db import models

from apps.core.ids import uuid7

DEFAULT_PERSONA = "Gaby"


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


class Surface(models.TextChoices):
    """Where a conversation happens: the embeddable widget, or a chat platform the client installed Gaby in (SRC-4)."""

    WIDGET = "widget", "Chat widget"
    SLACK = "slack", "Slack"
    TEAMS = "teams", "Microsoft Teams"


class SurfaceAccess(models.TextChoices):
    EVERYONE = "everyone", "Everyone in the workspace"
    LISTED = "listed", "Only the listed emails and domains"


class ChatSurfaceInstall(models.Model):
    """Gaby installed in one Slack workspace or Teams tenant of this client: its bot token (sealed with the client's
    key), the channels it listens to and who may use it. The public schema's ``tenants.SurfaceRoute`` row with the
    same (kind, workspace_id) sends that workspace's events here."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    kind = models.CharField(max_length=16, choices=[c for c in Surface.choices if c[0] != Surface.WIDGET])
    workspace_id = models.CharField(max_length=100, help_text="Slack team id (T…) or Entra tenant id.")
    display_name = models.CharField(max_length=200, blank=True)
    bot_user_id = models.CharField(max_length=100, blank=True, help_text="Gaby's own user on the platform.")
    # seal(client, token, purpose=install.secret_purpose)
    sealed_bot_token = models.TextField(blank=True, editable=False)
    channels = models.JSONField(
        default=list, blank=True, help_text="Channel ids Gaby answers mentions in; direct messages always reach it."
    )
    access = models.CharField(max_length=16, choices=SurfaceAccess.choices, default=SurfaceAccess.EVERYONE)
    allowed = models.JSONField(
        default=list, blank=True, help_text='Emails or domains allowed when access is "listed", e.g. ["acme.com"].'
    )
    # Slack: the channel approval and escalation notices are posted to with the bot token ("" = the client's webhook).
    approvals_channel = models.CharField(max_length=100, blank=True)
    enabled = models.BooleanField(default=True)
    installed_by = models.UUIDField(null=True, blank=True)  # accounts.User (public schema)
    installed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind", "display_name"]
        constraints = [models.UniqueConstraint(fields=["kind", "workspace_id"], name="chat_surface_install_once")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.display_name or self.workspace_id}"

    @property
    def secret_purpose(self) -> str:
        return f"chat-surface:{self.kind}:{self.workspace_id}"

    def allows_email(self, email: str) -> bool:
        if self.access == SurfaceAccess.EVERYONE:
            return True
        email = email.strip().lower()
        domain = email.rpartition("@")[2]
        entries = {str(entry).strip().lower().lstrip("@") for entry in self.allowed}
        return bool(email) and (email in entries or domain in entries)

    def listens_to(self, channel_id: str) -> bool:
        return channel_id in self.channels


class Conversation(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    surface = models.CharField(max_length=16, choices=Surface.choices, default=Surface.WIDGET, db_index=True)
    # The thread on its platform: Slack "T…:C…:thread_ts", a Teams conversation id; empty for the widget.
    external_key = models.CharField(max_length=300, blank=True)
    install = models.ForeignKey(
        ChatSurfaceInstall, on_delete=models.PROTECT, null=True, blank=True, related_name="conversations"
    )
    widget = models.ForeignKey(Widget, on_delete=models.PROTECT, null=True, blank=True, related_name="conversations")
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
        constraints = [
            models.UniqueConstraint(
                fields=["surface", "external_key"],
                condition=~models.Q(external_key=""),
                name="chat_conversation_one_per_thread",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.visitor_label} ({self.get_state_display()})"

    @property
    def persona_name(self) -> str:
        return self.widget.persona_name if self.widget is not None else DEFAULT_PERSONA

    @property
    def channel_label(self) -> str:
        """Where it happens, for the console and the inbox: the widget's name or the install's workspace."""
        if self.widget is not None:
            return self.widget.name
        if self.install is not None:
            return self.install.display_name or self.install.workspace_id
        return self.get_surface_display()

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
    # On a Slack/Teams conversation: the message's reference on the platform once it is posted there (Slack ts).
    external_ref = models.CharField(max_length=200, blank=True)
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


class DeliveryState(models.TextChoices):
    QUEUED = "queued", "Waiting to be answered"
    ANSWERING = "answering", "Being answered"
    DONE = "done", "Answered"
    SKIPPED = "skipped", "Nothing to answer"


class SurfaceDelivery(models.Model):
    """One event a platform delivered (a Slack event id, a Teams activity id): inserted on its unique key before
    anything else, so a retried delivery (Slack's ``X-Slack-Retry-Num``, a Teams re-send) is refused by the
    database and answered once. The row is also the answer's unit of work: the answer task claims it with a
    conditional UPDATE (queued → answering)."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    surface = models.CharField(max_length=16, choices=Surface.choices)
    delivery_id = models.CharField(max_length=200)
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, null=True, blank=True, related_name="deliveries"
    )
    message = models.ForeignKey(ChatMessage, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    state = models.CharField(max_length=16, choices=DeliveryState.choices, default=DeliveryState.QUEUED)
    received_at = models.DateTimeField(auto_now_add=True)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at"]
        constraints = [models.UniqueConstraint(fields=["surface", "delivery_id"], name="chat_surface_delivery_once")]

    def __str__(self) -> str:
        return f"{self.surface} {self.delivery_id} ({self.state})"


class OutboundState(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class SurfacePost(models.Model):
    """A message of Gaby's or an operator's to be posted in a platform thread, delivered once by a retried task
    (``chat.deliver_surface_post``), which claims it queued → sending."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    message = models.OneToOneField(ChatMessage, on_delete=models.CASCADE, related_name="surface_post")
    # "handoff": the notice that a person has (or is asked for) the conversation, which platforms draw as a card
    handoff = models.BooleanField(default=False)
    state = models.CharField(max_length=16, choices=OutboundState.choices, default=OutboundState.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"post of {self.message_id} ({self.state})"
