"""A Client is one company Gaby serves; each lives in its own PostgreSQL schema (MSP-1, GOV-1)."""

from __future__ import annotations

from django.core.validators import RegexValidator
from django.db import models
from django_tenants.models import DomainMixin, TenantMixin

from apps.core.compliance import ProfileName
from apps.core.ids import uuid7

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
        max_length=16, choices=ProfileName.choices, default=ProfileName.STANDARD,
        help_text="MSP-7: drives PII redaction, audit verbosity and which LLM providers may see this client's data.",
    )  # fmt: skip
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

    @property
    def is_public(self) -> bool:
        from django_tenants.utils import get_public_schema_name

        return bool(self.schema_name == get_public_schema_name())


class Domain(DomainMixin):
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)

    def __str__(self) -> str:
        return self.domain
