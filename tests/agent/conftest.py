"""Investigation fixtures: a ticket in Hartwell's schema, a scripted LLM, knowledge and the PostgreSQL connector."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.connectors.conftest import sample_url  # noqa: F401  (the module-scoped sample database)
from tests.tickets.conftest import imap_server, smtp_server  # noqa: F401  (real pymap IMAP, aiosmtpd SMTP)

RUNBOOKS = {
    "vpn.md": """# VPN runbook

## Reset a user's VPN password

To reset your VPN password, open https://vpn.hartwell.example/self-service, choose *Forgot password*
and follow the link sent to your work email. The new password works within five minutes.

## Tunnel drops every hour

The tunnel drops when the DHCP lease renews. Raise the lease time on the firewall to 24 hours.
""",
    "billing.md": """# Billing questions

## Which plan is a customer on

Every customer's plan (free or pro) is stored in the billing database, table customers, column plan.
Pro customers get priority support and 1 TB of storage; free customers get 5 GB.
""",
}


@pytest.fixture(autouse=True)
def _media_root(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def source(in_hartwell: Any) -> Any:
    from apps.tickets import services

    return services.create_source(client=in_hartwell, kind="webhook", name="Portal", config={})


@pytest.fixture
def make_ticket(source: Any) -> Any:
    from apps.tickets import services
    from apps.tickets.normalized import NormalizedContact, NormalizedMessage, NormalizedTicket

    def make(
        title: str = "What plan am I on?",
        body: str = "Hi, I am user2@example.com: am I on the pro plan?",
        external_id: str = "T-1",
    ) -> Any:
        normalized = NormalizedTicket(
            external_id=external_id,
            title=title,
            body=body,
            contact=NormalizedContact(email="user2@example.com", name="Dana"),
            messages=(NormalizedMessage(external_id=f"{external_id}-m1", body=body),),
        )
        return services.ingest_ticket(source=source, normalized=normalized).ticket

    return make


@pytest.fixture
def knowledge(in_hartwell: Any, tmp_path: Path) -> Any:
    """The runbooks above, synced with the real local embedding model."""
    from apps.knowledge import services

    root = tmp_path / "kb"
    root.mkdir()
    for name, text in RUNBOOKS.items():
        (root / name).write_text(text, encoding="utf-8")
    source = services.directory_source_for(path=root, name="Runbooks")
    services.sync_now(source=source)
    return source


@pytest.fixture
def billing_db(in_hartwell: Any, people: dict[str, Any], sample_url: str) -> Any:  # noqa: F811
    """The first-party PostgreSQL connector on the sample database (customers: id, email, plan)."""
    from apps.connectors import services
    from apps.connectors.models import Kind
    from apps.connectors.specs import Draft

    draft = Draft(kind=Kind.POSTGRES, name="Billing DB", settings={"url": sample_url})
    return services.connect(client=in_hartwell, draft=draft, actor=people["alice"])
