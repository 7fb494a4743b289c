"""A Client is one company Gaby serves; each lives in its own PostgreSQL schema (MSP-1, GOV-1)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.validators import RegexValidator
from django.db import connections, models
from django_tenants.models import DomainMixin, TenantMixin
from django_tenants.utils import get_public_schema_name, schema_exists
from psycopg import sql

from apps.core.compliance import ProfileName
from apps.core.ids import uuid7
from tenants.db_privileges import owner_alias
from tenants.schema_clone import create_from_template

slug_validator = RegexValidator(
    r"^[a-z][a-z0-9]{1,30}$",
    "Use 2-31 lowercase letters and digits, starting with a letter (it becomes the subdomain and schema).",
)


class Autonomy(models.TextChoices):
    """MSP-3: how far Gaby may go for this client; the most restrictive setting anywhere wins."""

    INVESTIGATE = "investigate", "Investigate only"
    REVIEW = "review", "Review (a human applies fixes)"
    AUTO = "auto", "Auto (Gaby applies fixes)"


class Client(TenantMixin):
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    name = models.CharField(max_length=200)
    slug = models.CharField(max_length=31, unique=True, validators=[slug_validator])
    autonomy = models.CharField(max_length=16, choices=Autonomy.choices, default=Autonomy.INVESTIGATE)
    time_zone = models.CharField(max_length=64, default="UTC")
    approval_threshold = models.PositiveSmallIntegerField(
        default=50, help_text="SAF-3: writes whose risk score (0-100) reaches this wait for a human's approval."
    )
    compliance_profile = models.CharField(
        max_length=16,
        choices=ProfileName.choices,
        default=ProfileName.STANDARD,
        help_text="MSP-7: drives PII redaction, audit verbosity and which LLM providers may see this client's data.",
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # This client's data key, encrypted by the key provider (apps/core/secrets.py); never stored in clear.
    wrapped_data_key = models.BinaryField(null=True, blank=True, editable=False)

    auto_create_schema = True
    auto_drop_schema = False  # a deleted client keeps its data until an operator drops it on purpose

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def create_schema(self, check_if_exists: bool = False, sync_schema: bool = True, verbosity: int = 1) -> bool:
        """Create the schema as the owner role when one is configured (tenants/db_privileges.py): a copy of the
        migrated template schema (tenants/schema_clone.py) when ``CLIENT_SCHEMA_FROM_TEMPLATE``, then migrated the
        ordinary way (which applies whatever the copy lacks: nothing, most times)."""
        alias = owner_alias()
        if check_if_exists and schema_exists(self.schema_name, database=alias):
            return False
        owner: Any = connections[alias]  # django-tenants' database wrapper (set_schema_to_public)
        owner.set_schema_to_public()
        cloned = sync_schema and settings.CLIENT_SCHEMA_FROM_TEMPLATE and create_from_template(alias, self.schema_name)
        if not cloned:
            with owner.cursor() as cursor:
                cursor.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(self.schema_name)))
        if sync_schema:
            call_command(
                "migrate_schemas",
                tenant=True,
                schema_name=self.schema_name,
                database=alias,
                interactive=False,
                verbosity=verbosity,
            )
        owner.set_schema_to_public()
        return True

    def _drop_schema(self, force_drop: bool = False) -> None:
        """As the owner role too: django-tenants drops the schema of a client whose creation failed."""
        alias = owner_alias()
        if alias == "default":
            super()._drop_schema(force_drop)
            return
        if (self.auto_drop_schema or force_drop) and schema_exists(self.schema_name, database=alias):
            self.pre_drop()
            with connections[alias].cursor() as cursor:
                cursor.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(self.schema_name)))

    @property
    def is_public(self) -> bool:
        return bool(self.schema_name == get_public_schema_name())


class Domain(DomainMixin):
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)

    def __str__(self) -> str:
        return self.domain


class Plan(models.Model):
    """A plan tier the MSP sells (Starter, Pro, Unlimited...): what a client on it may spend on models each calendar
    month (UTC) and how many operator seats it has. Rows, not code: MSP staff edit them in the admin."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    name = models.CharField(max_length=100, unique=True)
    position = models.PositiveSmallIntegerField(default=0, help_text="Order in lists, cheapest first.")
    monthly_tokens = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="Model tokens (in + out) per month; empty: no cap."
    )
    monthly_usd = models.DecimalField(
        max_digits=10, decimal_places=2, null=True, blank=True, help_text="Model spend per month in USD; empty: no cap."
    )
    seats = models.PositiveIntegerField(
        null=True, blank=True, help_text="Operator accounts (Admins and Agents); empty: no limit."
    )
    notice_percent = models.PositiveSmallIntegerField(
        default=80, help_text="MSP staff and the client's Admins are told once a month when usage reaches this share."
    )

    class Meta:
        ordering = ["position", "name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(notice_percent__gte=1, notice_percent__lte=99), name="plan_notice_percent_1_99"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ClientPlan(models.Model):
    """The plan a client is on, with per-client overrides of its caps (empty: the plan's). A client without one has
    no caps."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    client = models.OneToOneField(Client, on_delete=models.CASCADE, related_name="plan_assignment")
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="clients")
    monthly_tokens = models.PositiveBigIntegerField(null=True, blank=True, help_text="Empty: the plan's cap.")
    monthly_usd = models.DecimalField(
        max_digits=10, decimal_places=2, null=True, blank=True, help_text="Empty: the plan's."
    )
    seats = models.PositiveIntegerField(null=True, blank=True, help_text="Empty: the plan's seats.")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.client} on {self.plan}"


class QuotaLevel(models.TextChoices):
    NOTICE = "notice", "Nearing the monthly cap"
    STOP = "stop", "Monthly cap reached: model calls stopped"


class QuotaNotice(models.Model):
    """One per client, month and level: the row's uniqueness is what makes the notice go out once a month."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="quota_notices")
    month = models.DateField(help_text="The first day of the month (UTC).")
    level = models.CharField(max_length=8, choices=QuotaLevel.choices)
    detail = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["client", "month", "level"], name="quota_notice_once_a_month"),
        ]

    def __str__(self) -> str:
        return f"{self.client} {self.month:%Y-%m} {self.level}"


class SurfaceRoute(models.Model):
    """Which client a Slack workspace or Teams tenant belongs to (public schema): one events URL serves every client,
    and an event from a workspace with no route is refused. Written with the client's ``chat.ChatSurfaceInstall``."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    kind = models.CharField(max_length=16, help_text="slack | teams")
    workspace_id = models.CharField(max_length=100)
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="surface_routes")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "workspace_id"], name="surface_route_one_client")]

    def __str__(self) -> str:
        return f"{self.kind} {self.workspace_id} → {self.client}"
