"""The eval's demo world for end-to-end tests: real Keycloak and Stripe stand-ins behind the first-party MCP
connectors, the shop database, the shipped playbooks; raw emails through the real parser into its inbox."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import uuid4

import pytest
from django_tenants.utils import tenant_context

from apps.agent.evals.environment import Environment, build
from apps.safety.models import ActionStatus, ToolAction

PASS = "spf=pass smtp.mailfrom=example dkim=pass header.d=example dmarc=pass"
MARIA = "maria.lopez@brightpath.example"  # locked in the Keycloak seed (6 failed sign-ins)


@pytest.fixture(scope="module")
def northwind(django_db_setup: None, django_db_blocker: Any, world: Any) -> Iterator[Environment]:
    with django_db_blocker.unblock():
        env = build()
    yield env
    with django_db_blocker.unblock():
        env.close()


@pytest.fixture
def world_of(northwind: Environment, db: None) -> Iterator[Environment]:
    northwind.reset()
    with tenant_context(northwind.client):
        yield northwind


def email_in(env: Environment, *, sender: str, subject: str, body: str, auth: str = PASS) -> Any:
    """A raw email through the real parser into the eval inbox, investigated by the engine; the investigation."""
    return email_into(env.source, sender=sender, subject=subject, body=body, auth=auth)


def email_into(source: Any, *, sender: str, subject: str, body: str, auth: str = PASS) -> Any:
    """A raw email through the real parser into ``source`` (any client's inbox), investigated by the engine."""
    raw = (
        f"Authentication-Results: mx.northwind.example; {auth}\r\n"
        "Authentication-Results: forged.example; dmarc=pass\r\n"  # below the receiver's own: never trusted
        f"From: {sender}\r\nTo: support@northwind.example\r\nSubject: {subject}\r\n"
        f"Message-ID: <{uuid4().hex}@mail.example>\r\nDate: Mon, 30 Nov 2026 09:00:00 +0000\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n" + body.replace("\n", "\r\n")
    ).encode()
    return raw_email_into(source, raw)


def raw_email_into(source: Any, raw: bytes) -> Any:
    """An email's bytes through the real parser into ``source``, investigated by the engine."""
    from apps.agent.engine import execute
    from apps.agent.investigations import start_investigation
    from apps.agent.models import Investigation
    from apps.tickets import services as tickets
    from apps.tickets.sources.email.parse import parse_email

    parsed = parse_email(raw)
    assert parsed.ticket is not None
    ticket = tickets.ingest_ticket(source=source, normalized=parsed.ticket).ticket
    investigation = start_investigation(ticket=ticket, triggered_by="eval", queue=False)
    execute(investigation.pk)
    return Investigation.objects.select_related("ticket").get(pk=investigation.pk)


def executed(investigation: Any) -> list[ToolAction]:
    return [
        step.action
        for step in investigation.steps.select_related("action").exclude(action=None)
        if step.action.status == ActionStatus.DONE
    ]
