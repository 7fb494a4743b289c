"""Authorized contacts (GOV-5, MSP-1): the people an Admin allows to request for colleagues, each change audited.

Gaby acts only for a ticket's verified requester. An MSP client's office manager who asks "please unlock Jane"
is the usual exception: listed here, their requests for another person's account run under the normal policy
(the gate no longer holds them for a human), and every such call is still recorded as on behalf of another
person (apps/safety/enforcement.py).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction

from apps.accounts.models import User
from apps.auditlog import audit
from apps.auditlog.models import ActorKind
from apps.safety.models import AuthorizedContact


class ContactError(ValueError):
    """The message says what to fix."""


def add_authorized_contact(*, email: str, name: str = "", note: str = "", actor: User) -> AuthorizedContact:
    address = email.strip().lower()
    try:
        validate_email(address)
    except ValidationError:
        raise ContactError(f"{email!r} is not an email address: give the address they write from.") from None
    try:
        with transaction.atomic():
            contact = AuthorizedContact.objects.create(
                email=address, name=name.strip()[:200], note=note.strip()[:300], added_by=actor.pk
            )
            audit.record(
                event="safety.authorized_contact_added",
                actor_kind=ActorKind.USER,
                actor_id=actor.pk,
                payload={"contact": str(contact.pk), "email": address, "note": contact.note},
            )
    except IntegrityError:
        raise ContactError(f"{address} is already an authorized contact.") from None
    return contact


@transaction.atomic
def remove_authorized_contact(*, contact: AuthorizedContact, actor: User) -> None:
    audit.record(
        event="safety.authorized_contact_removed",
        actor_kind=ActorKind.USER,
        actor_id=actor.pk,
        payload={"contact": str(contact.pk), "email": contact.email},
    )
    contact.delete()
