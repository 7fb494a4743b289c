"""Creating, revoking and checking API keys; each change is audited (never the token)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.accounts.models import Role
from apps.apikeys.models import ApiKey
from apps.auditlog.audit import record
from apps.auditlog.models import ActorKind

TOKEN_PREFIX = "gaby_"
LAST_USED_RESOLUTION = timedelta(minutes=1)  # at most one write per key per minute, not one per request


@dataclass(frozen=True)
class KeyPrincipal:
    """Who an API-key request acts as: duck-types the bits of a Membership the API checks."""

    key_id: UUID
    name: str
    prefix: str
    role: str

    def allows(self, required: str) -> bool:
        return Role.allows(self.role, required)

    def get_role_display(self) -> str:
        return str(Role(self.role).label)

    @property
    def display_name(self) -> str:
        return f"API key {self.name}"

    @property
    def audit_identity(self) -> tuple[str, str]:
        return ActorKind.SYSTEM, f"api-key:{self.prefix}"

    def __str__(self) -> str:
        return self.display_name


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_key(*, name: str, role: str, actor: Any) -> tuple[ApiKey, str]:
    """A new key and its token, returned this once."""
    name = name.strip()
    if not name:
        raise ValidationError({"name": ["Name the key after what uses it, e.g. 'CRM sync'."]})
    if role not in Role.values:
        raise ValidationError({"role": [f"Pick one of: {', '.join(Role.values)}."]})
    prefix = secrets.token_hex(4)
    token = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    with transaction.atomic():
        key = ApiKey.objects.create(
            name=name[:100], prefix=prefix, token_hash=_hash(token), role=role, created_by_id=getattr(actor, "pk", None)
        )
        record(
            event="api_key.created",
            actor_kind=ActorKind.USER,
            actor_id=getattr(actor, "pk", ""),
            payload={"key": key.pk, "name": key.name, "prefix": prefix, "role": role},
        )
    return key, token


def revoke_key(*, key: ApiKey, actor: Any) -> None:
    with transaction.atomic():
        if ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now()):
            record(
                event="api_key.revoked",
                actor_kind=ActorKind.USER,
                actor_id=getattr(actor, "pk", ""),
                payload={"key": key.pk, "name": key.name, "prefix": key.prefix},
            )


def authenticate(token: str) -> KeyPrincipal | None:
    """The principal of a valid, unrevoked key of the current schema's client; None otherwise."""
    parts = token.split("_")
    if len(parts) < 3 or not token.startswith(TOKEN_PREFIX):
        return None
    key = ApiKey.objects.filter(prefix=parts[1], revoked_at__isnull=True).first()
    if key is None or not hmac.compare_digest(key.token_hash, _hash(token)):
        return None
    now = timezone.now()
    ApiKey.objects.filter(pk=key.pk).filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION)
    ).update(last_used_at=now)
    return KeyPrincipal(key_id=key.pk, name=key.name, prefix=key.prefix, role=key.role)
