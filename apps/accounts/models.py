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
