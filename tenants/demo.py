"""The demo MSP: two clients, each with its own knowledge, support mailbox and Microsoft 365 / NinjaOne stack
(tenants/demo_msp.py), and one person per persona; created once, reused."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django_tenants.utils import tenant_context

from apps.accounts.models import Membership, Persona, Role, User
from apps.knowledge.models import KnowledgeSource
from apps.knowledge.services import directory_source_for, request_sync
from apps.tickets import services
from apps.tickets.models import SourceKind, TicketSource
from gaby_site.demo_mail import DemoMail
from tenants.models import Client
from tenants.services import create_client, ensure_public_tenant

DEMO_CLIENTS = (("hartwell", "Hartwell Law"), ("dearborn", "Dearborn CPA"))


@dataclass(frozen=True)
class DemoPerson:
    key: str
    email: str
    full_name: str
    persona: str
    msp_staff: bool
    roles: dict[str, str]  # client slug -> role


DEMO_PEOPLE = (
    DemoPerson("alice", "alice@hartwell.example", "Alice Hartwell", Persona.FOUNDER, False, {"hartwell": Role.ADMIN}),
    DemoPerson("bob", "bob@hartwell.example", "Bob Ng", Persona.SUPPORT_LEAD, False, {"hartwell": Role.AGENT}),
    DemoPerson("carol", "carol@dearborn.example", "Carol Dearborn", Persona.SRE, False, {"dearborn": Role.ADMIN}),
    DemoPerson(
        "mona",
        "mona@bluemesa.example",
        "Mona Reyes",
        Persona.MSP,
        True,
        {"hartwell": Role.ADMIN, "dearborn": Role.ADMIN},
    ),
)


def demo_password() -> str:
    """One generated password for the demo people, kept (0600) in the data directory so every run can print it."""
    path = settings.DATA_DIR / "demo-password"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(9), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


def seed_clients() -> dict[str, Client]:
    ensure_public_tenant()
    clients = {}
    for slug, name in DEMO_CLIENTS:
        existing = Client.objects.filter(slug=slug).first()
        clients[slug] = existing or create_client(name=name, slug=slug)
    return clients


def seed_people(clients: dict[str, Client], *, password: str | None) -> dict[str, User]:
    people = {}
    for person in DEMO_PEOPLE:
        user = User.objects.filter(email=person.email).first()
        if user is None:
            user = User.objects.create_user(
                person.email,
                password,
                full_name=person.full_name,
                persona=person.persona,
                is_msp_staff=person.msp_staff,
            )
        for slug, role in person.roles.items():
            Membership.objects.get_or_create(user=user, client=clients[slug], defaults={"role": role})
        people[person.key] = user
    # The install's admins (superusers) administer the demo clients too.
    for admin in User.objects.filter(is_superuser=True):
        for client in clients.values():
            Membership.objects.get_or_create(user=admin, client=client, defaults={"role": Role.ADMIN})
    return people


DEMO_KNOWLEDGE = Path(__file__).resolve().parent / "demo_knowledge"


def seed_knowledge(clients: dict[str, Client]) -> None:
    """Each demo client's own help-center folder as a knowledge source; the worker indexes it (first run only)."""

    for slug, client in clients.items():
        folder = DEMO_KNOWLEDGE / slug
        if not folder.is_dir():
            continue
        with tenant_context(client):
            if KnowledgeSource.objects.filter(config__path=str(folder)).exists():
                continue
            request_sync(source=directory_source_for(path=folder, name=f"{client.name} help center (demo)"))


DEMO_MAIL_SOURCE = "Demo support mailbox"


def seed_demo_mail(clients: dict[str, Client], mail: DemoMail | None) -> None:
    """Each demo client's email source on its demo mailbox when the demo mail server runs; disabled when it does not.

    Re-running updates the configuration (ports may have changed) and never adds a second source.
    """

    for slug, client in clients.items():
        with tenant_context(client):
            source = TicketSource.objects.filter(kind=SourceKind.EMAIL, name=DEMO_MAIL_SOURCE).first()
            if mail is None:
                if source is not None:
                    TicketSource.objects.filter(pk=source.pk).update(enabled=False)
                continue
            config = mail.source_config(slug, client.name)
            if source is None:
                services.create_source(
                    client=client, kind=SourceKind.EMAIL, name=DEMO_MAIL_SOURCE, config=config, poll_interval_seconds=60
                )
                continue
            if services.source_config(client=client, source=source) != config:
                services.update_source_config(client=client, source=source, config=config)
            TicketSource.objects.filter(pk=source.pk).update(enabled=True)


def seed_demo(mail: DemoMail | None = None) -> tuple[dict[str, Client], dict[str, User], str]:
    """The demo MSP's clients, people, knowledge and mailboxes; its Microsoft 365 / NinjaOne stack is seeded apart
    (``tenants.demo_msp.seed_msp``) by ``gaby bootstrap --demo``, which knows whether the stand-ins run."""
    password = demo_password()
    clients = seed_clients()
    people = seed_people(clients, password=password)
    seed_knowledge(clients)
    seed_demo_mail(clients, mail)
    return clients, people, password
