from __future__ import annotations

from typing import Any

import pytest

from apps.onboarding.client_templates.models import ClientTemplate
from tenants.models import Client
from tenants.services import create_client


@pytest.fixture
def template(db: None) -> Any:
    def get(key: str) -> ClientTemplate:
        return ClientTemplate.objects.get(key=key)

    return get


@pytest.fixture
def new_client(world: Any, db: None) -> Any:
    """A client created the real way (schema migrated), rolled back with the test."""

    def make(slug: str, name: str | None = None) -> Client:
        return create_client(name=name or slug.title(), slug=slug, admin=world.people["mona"])

    return make
