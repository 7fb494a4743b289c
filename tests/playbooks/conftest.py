"""Real peers for the playbook tests: a shop database behind the PostgreSQL connector, the ledger MCP server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from apps.connectors import services
from apps.connectors.models import Connector, Kind
from apps.connectors.specs import Draft
from tests.connectors.conftest import _url
from tests.safety.conftest import ledger, ledger_file  # noqa: F401  (fixtures: the ledger MCP server)

SHOP_DB = "gaby_playbook_shop"
ORDERS = [
    (1042, "dana@example.com", "shipped", "2026-11-02", "2026-11-04", "DHL", "JD0146000012345"),
    (1043, "dana@example.com", "processing", "2026-11-18", None, None, None),
    (2001, "erik@example.com", "delivered", "2026-10-01", "2026-10-02", "UPS", "1Z999AA10123456784"),
]
ACCOUNTS = [
    ("dana", "dana@example.com", "pro", "active", "2025-03-01T10:00:00", "2026-11-20T08:00:00"),
    ("erik", "erik@example.com", "free", "suspended", "2024-01-15T09:00:00", None),
]


@pytest.fixture(scope="module")
def shop_url(django_db_setup: None, django_db_blocker: Any) -> Iterator[str]:
    """A separate database with orders and accounts, as a client's application database would be."""
    with django_db_blocker.unblock(), psycopg.connect(_url("postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{SHOP_DB}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{SHOP_DB}"')
    with psycopg.connect(_url(SHOP_DB), autocommit=True) as db:
        db.execute(
            "CREATE TABLE orders (id int PRIMARY KEY, customer_email text, status text, placed_at date, "
            "shipped_at date, carrier text, tracking_number text)"
        )
        db.execute(
            "CREATE TABLE accounts (username text PRIMARY KEY, email text, plan text, status text, "
            "created_at timestamp, last_login_at timestamp)"
        )
        with db.cursor() as cursor:
            cursor.executemany("INSERT INTO orders VALUES (%s, %s, %s, %s, %s, %s, %s)", ORDERS)
            cursor.executemany("INSERT INTO accounts VALUES (%s, %s, %s, %s, %s, %s)", ACCOUNTS)
    params = psycopg.conninfo.conninfo_to_dict(_url(SHOP_DB))
    yield f"postgresql:///{SHOP_DB}?" + "&".join(f"{k}={v}" for k, v in params.items() if k != "dbname" and v)
    with django_db_blocker.unblock(), psycopg.connect(_url("postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{SHOP_DB}" WITH (FORCE)')


@pytest.fixture
def shop(in_hartwell: Any, people: dict[str, Any], shop_url: str) -> Connector:
    """Hartwell's read-only PostgreSQL connector on the shop database."""
    draft = Draft(kind=Kind.POSTGRES, name="Shop DB", settings={"url": shop_url})
    return services.connect(client=in_hartwell, draft=draft, actor=people["alice"])
