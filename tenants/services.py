"""Client onboarding: creating a client creates its schema, migrates it and gives it a subdomain."""

from __future__ import annotations

from typing import TYPE_CHECKING

import structlog
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django_tenants.utils import get_public_schema_name

from apps.accounts.models import Membership, Role
from apps.auditlog.audit import record_for_client, record_for_install
from apps.auditlog.models import ActorKind
from tenants.addresses import client_domain
from tenants.models import Client, Domain, slug_validator

if TYPE_CHECKING:
    from apps.accounts.models import User

log = structlog.get_logger(__name__)


def ensure_public_tenant() -> Client:
    """The public schema is the MSP portal; it answers on the base domain."""
    public, _ = Client.objects.get_or_create(
        schema_name=get_public_schema_name(),
        defaults={"name": "MSP portal", "slug": "portal"},
    )
    Domain.objects.get_or_create(domain=settings.BASE_DOMAIN, defaults={"tenant": public, "is_primary": True})
    return public


def create_client(*, name: str, slug: str, admin: User | None = None) -> Client:
    """Create a client, its schema (migrated) and its ``<slug>.<base domain>`` domain.

    ``admin``, when given, becomes the client's first Admin member.
    """
    name = name.strip()
    if not name:
        raise ValidationError({"name": "Give the client a name."})
    slug_validator(slug)
    if Client.objects.filter(slug=slug).exists():
        raise ValidationError({"slug": f"A client with the subdomain {slug!r} already exists: pick another."})
    # Schema creation runs DDL and migrations; it cannot be rolled back with the rows, so the rows
    # go first in their own transaction and the schema is created by save() right after.
    client = Client(name=name, slug=slug, schema_name=slug)
    client.save(verbosity=0)
    with transaction.atomic():
        Domain.objects.create(domain=client_domain(slug), tenant=client, is_primary=True)
        if admin is not None:
            Membership.objects.get_or_create(user=admin, client=client, defaults={"role": Role.ADMIN})
        actor = {"actor_kind": ActorKind.USER, "actor_id": admin.pk} if admin else {"actor_kind": ActorKind.SYSTEM}
        facts = {"client": client.slug, "name": client.name, "first_admin": admin.email if admin else None}
        record_for_install(event="client.created", payload=facts, **actor)
        record_for_client(client, event="client.created", payload=facts, **actor)  # the client's own, first link
    log.info("client_created", client=client.schema_name, name=client.name)
    return client


AUDITED_SETTINGS = ("name", "autonomy", "approval_threshold", "time_zone", "compliance_profile")


@transaction.atomic
def update_client_settings(*, client: Client, changes: dict[str, object], actor: User | None) -> Client:
    """Apply validated settings and record what changed, from what to what (``actor=None``: Gaby itself)."""
    diff = {
        field: {"from": getattr(client, field), "to": value}
        for field, value in changes.items()
        if field in AUDITED_SETTINGS and getattr(client, field) != value
    }
    if not diff:
        return client
    for field, change in diff.items():
        setattr(client, field, change["to"])
    client.save(update_fields=list(diff))
    record_for_client(
        client,
        event="client.settings_changed",
        actor_kind=ActorKind.USER if actor else ActorKind.SYSTEM,
        actor_id=actor.pk if actor else "",
        payload={"changes": diff},
    )
    return client
