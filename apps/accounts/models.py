"""Users live in the public schema; a Membership is what lets a user into one client (GOV-2)."""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone

from apps.core.ids import uuid7


class Persona(models.TextChoices):
    """The spec's four personas; each has its accent colour in the operator shell."""

    FOUNDER = "founder", "Technical founder"
    SUPPORT_LEAD = "support_lead", "Head of support"
    SRE = "sre", "SRE / DevOps"
    MSP = "msp", "MSP technician"


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    AGENT = "agent", "Agent"
    VIEWER = "viewer", "Viewer"

    @classmethod
    def rank(cls, role: str) -> int:
        return {cls.VIEWER: 1, cls.AGENT: 2, cls.ADMIN: 3}[cls(role)]

    @classmethod
    def allows(cls, held: str, required: str) -> bool:
        """Whether holding ``held`` is enough for something that needs ``required``."""
        return cls.rank(held) >= cls.rank(required)


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **fields: Any) -> User:
        if not email:
            raise ValueError("A user needs an email address.")
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields: Any) -> User:
        fields.update(is_staff=True, is_superuser=True, is_msp_staff=True)
        return self.create_user(email, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=200, blank=True)
    persona = models.CharField(max_length=16, choices=Persona.choices, default=Persona.MSP)
    is_msp_staff = models.BooleanField(
        default=False,
        help_text="MSP staff reach the portal and can onboard clients; client access still needs a membership.",
    )
    is_staff = models.BooleanField(default=False, help_text="Can open the Django admin of the MSP portal.")
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.full_name or self.email

    @property
    def display_name(self) -> str:
        return self.full_name or self.email.split("@")[0]


class Membership(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    client = models.ForeignKey("tenants.Client", on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["client__name", "user__email"]
        constraints = [models.UniqueConstraint(fields=["user", "client"], name="one_membership_per_user_and_client")]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()} of {self.client}"

    def allows(self, required: str) -> bool:
        return Role.allows(self.role, required)


class PartnerConnection(models.Model):
    """The MSP's own partner (GDAP) connection to Microsoft 365, kept in the public schema so a re-run of the
    partner connect needs no secret re-typed and shows what changed since the last listing
    (apps/connectors/m365_partner_store.py). The secret is sealed under the install's key (never a client's: it
    spans every client); each client's own connector, and its consent event, stay in that client's schema."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    tenant_id = models.CharField(max_length=200, help_text="The MSP's own Entra ID tenant (GUID or domain).")
    client_id = models.CharField(max_length=64, help_text="The multi-tenant app registration's Application ID.")
    sealed_secret = models.TextField(help_text="The app's client secret, sealed (apps.core.secrets.seal_install).")
    endpoints = models.JSONField(
        default=dict, blank=True, help_text="authority, graph_url, ca_file when not Microsoft's."
    )
    listed = models.JSONField(
        default=list, blank=True, help_text="The customers of the last listing: tenant id, name, domains, GDAP roles."
    )
    last_listed_at = models.DateTimeField(null=True, blank=True)
    last_listed_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-last_listed_at"]
        constraints = [
            models.UniqueConstraint(fields=["tenant_id", "client_id"], name="one_partner_connection_per_tenant_app")
        ]

    def __str__(self) -> str:
        return f"Microsoft 365 partner {self.tenant_id} (app {self.client_id})"
