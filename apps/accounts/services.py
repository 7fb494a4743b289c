"""Account operations: first-run admin, memberships, and the demo MSP's people."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import structlog
from allauth.account.forms import default_token_generator
from allauth.account.utils import user_pk_to_url_str
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse

from apps.accounts.models import Membership, Persona, Role, User
from apps.auditlog.audit import record_for_client
from apps.auditlog.models import ActorKind
from tenants.models import Client
from tenants.plans import limits_for

OPERATOR_ROLES = (Role.ADMIN, Role.AGENT)  # the roles that take a seat; Viewers only read

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class MintedAdmin:
    email: str
    password: str


def generate_password() -> str:
    return secrets.token_urlsafe(12)


@transaction.atomic
def mint_first_admin(*, email: str) -> MintedAdmin | None:
    """No open mode: if no user exists, create the install's admin with a random password.

    Returns the credentials to print once, or None when users already exist.
    """
    if User.objects.exists():
        return None
    password = generate_password()
    User.objects.create_superuser(email, password, full_name="Gaby admin", persona=Persona.MSP)
    log.info("first_admin_minted", email=email)
    return MintedAdmin(email=email, password=password)


@transaction.atomic
def set_membership(*, client: Client, email: str, role: str, actor: User, base_url: str | None = None) -> Membership:
    """Give ``email`` the ``role`` on ``client``, creating the user (and emailing a set-password link) if new."""
    email = email.strip().lower()
    if role not in Role.values:
        raise ValidationError({"role": f"Pick one of: {', '.join(Role.labels)}."})
    user = User.objects.filter(email=email).first()
    if role in OPERATOR_ROLES:
        check_seat(client, user, field="email")
    created_user = user is None
    if user is None:
        user = User.objects.create_user(email, persona=Persona.SUPPORT_LEAD)
    membership, created = Membership.objects.update_or_create(user=user, client=client, defaults={"role": role})
    record_for_client(
        client,
        event="membership.granted" if created else "membership.changed",
        actor_kind=ActorKind.USER,
        actor_id=actor.pk,
        payload={"member": user.email, "role": role, "new_user": created_user},
    )
    log.info("membership_set", client=client.schema_name, member=str(user.pk), role=role, by=str(actor.pk), new=created)
    if created_user and base_url:
        transaction.on_commit(lambda: send_set_password_email(user, client=client, base_url=base_url))
    return membership


def check_seat(client: Client, user: User | None, *, field: str | None) -> None:
    """Refuse one more operator (Admin or Agent) beyond the seats of the client's plan (tenants/plans.py).

    The client's row is locked until the caller's transaction ends, so two invitations at once cannot both take
    the last seat. Someone who already holds an operator role keeps their seat."""
    seats = limits_for(client).seats
    if seats is None:
        return
    Client.objects.select_for_update().filter(pk=client.pk).first()
    operators = Membership.objects.filter(client=client, role__in=OPERATOR_ROLES)
    if user is not None and operators.filter(user=user).exists():
        return
    if operators.count() >= seats:
        message = (
            f"{client.name}'s plan has {seats} operator seat{'s' if seats != 1 else ''} (Admins and Agents) and all "
            "are taken: add this person as a Viewer, remove an operator, or ask MSP staff for more seats."
        )
        raise ValidationError({field: message} if field else message)


def send_set_password_email(user: User, *, client: Client, base_url: str) -> None:
    uid = user_pk_to_url_str(user)
    token = default_token_generator.make_token(user)
    link = base_url.rstrip("/") + reverse("account_reset_password_from_key", kwargs={"uidb36": uid, "key": token})
    send_mail(
        subject=f"You have been added to {client.name} on Gaby",
        message=f"Hello,\n\nYou now have access to {client.name} on Gaby. Choose your password here:\n{link}\n",
        from_email=None,
        recipient_list=[user.email],
    )


@transaction.atomic
def remove_membership(*, membership: Membership, actor: User) -> None:
    client = membership.client
    if (
        membership.role == Role.ADMIN
        and not client.memberships.filter(role=Role.ADMIN).exclude(pk=membership.pk).exists()
    ):
        raise ValidationError("A client needs at least one Admin: make someone else Admin first.")
    log.info("membership_removed", client=client.schema_name, member=str(membership.user_id), by=str(actor.pk))
    record_for_client(
        client,
        event="membership.revoked",
        actor_kind=ActorKind.USER,
        actor_id=actor.pk,
        payload={"member": membership.user.email, "role": membership.role},
    )
    membership.delete()


@transaction.atomic
def change_role(*, membership: Membership, role: str, actor: User) -> Membership:
    if role not in Role.values:
        raise ValidationError({"role": f"Pick one of: {', '.join(Role.labels)}."})
    client = membership.client
    if (
        membership.role == Role.ADMIN
        and role != Role.ADMIN
        and not client.memberships.filter(role=Role.ADMIN).exclude(pk=membership.pk).exists()
    ):
        raise ValidationError("A client needs at least one Admin: make someone else Admin first.")
    if role in OPERATOR_ROLES:
        check_seat(client, membership.user, field=None)
    previous = membership.role
    membership.role = role
    membership.save(update_fields=["role"])
    record_for_client(
        client,
        event="membership.changed",
        actor_kind=ActorKind.USER,
        actor_id=actor.pk,
        payload={"member": membership.user.email, "role": role, "previous_role": previous},
    )
    log.info(
        "membership_role_changed",
        client=client.schema_name,
        member=str(membership.user_id),
        role=role,
        by=str(actor.pk),
    )
    return membership
