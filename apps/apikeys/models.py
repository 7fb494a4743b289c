"""Per-client API keys for the JSON API, one table in each client's schema.

A key lives in its client's schema, so a key of one client cannot even be looked up on another
client's domain: the isolation is structural, like every other per-client row. Only a SHA-256 of
the token is stored (the token carries 256 random bits, so a slow hash adds nothing); the token is
shown once, when the key is created.
"""

from __future__ import annotations

from django.db import models

from apps.accounts.models import Role
from apps.core.ids import uuid7


class ApiKey(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)  # shown in lists and logs; not a secret
    token_hash = models.CharField(max_length=64)  # hex SHA-256 of the whole token
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)
    created_by_id = models.UUIDField(null=True, blank=True)  # accounts.User in the public schema
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def active(self) -> bool:
        return self.revoked_at is None
