"""Billing fixtures: the HaloPSA stand-in over HTTP, a Halo source in Hartwell's schema, and its polled tickets."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django_tenants.utils import tenant_context

from sandbox.halopsa import HaloPSASandbox


@pytest.fixture(autouse=True)
def _media_root(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def halo() -> Iterator[HaloPSASandbox]:
    with HaloPSASandbox() as sandbox:
        yield sandbox


@pytest.fixture
def halo_source(hartwell: Any, halo: HaloPSASandbox) -> Any:
    """Hartwell's HaloPSA source (Halo client 12), polled once: tickets 3001 and 3002 are in Gaby."""
    from apps.tickets import polling, services

    config = {
        "base_url": halo.base_url,
        "tenant": "northwind",
        "client_id": "gaby-api",
        "client_secret": "halo-client-secret",
        "halo_client_id": "12",
        "webhook_secret": "w" * 20,
        "backfill_days": 3650,
    }
    with tenant_context(hartwell):
        source = services.create_source(client=hartwell, kind="halopsa", name="HaloPSA", config=config)
        assert polling.poll(source.pk).status == "ok"
    return source


@pytest.fixture
def rule(hartwell: Any) -> Any:
    """Hartwell's default rule: bill everything (no minimum), rounded up to 6 minutes, to contract 77 as agent 1."""
    from apps.billing.models import BillingRule

    with tenant_context(hartwell):
        return BillingRule.objects.create(
            minimum_minutes=0,
            rounding_minutes=6,
            work_type="3",
            agreement_id="77",
            member_id="1",
            note_template="{{ worker }} — {{ kind }} on {{ ticket.external_id }}: {{ billed_minutes }} min",
        )
