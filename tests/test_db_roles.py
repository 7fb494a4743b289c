"""With an owner role configured, Gaby's own connections cannot rewrite, disable or drop the audit trail.

A fresh database is migrated and a client created by Gaby's real commands, run as they are in production: the
application connects as a login role that owns nothing (DATABASE_URL) and DDL runs as the owner
(GABY_DB_OWNER_URL). Then that application role, connecting on its own, tries what an attacker holding its
connection would.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from psycopg import sql

from apps.core.env import database_url

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.django_db(transaction=False)


class Install:
    def __init__(self, owner_url: str, app_url: str, schema: str) -> None:
        self.owner_url, self.app_url, self.schema = owner_url, app_url, schema

    def as_app(self, statement: str) -> list[tuple[object, ...]]:
        with psycopg.connect(self.app_url, autocommit=True) as conn, conn.cursor() as cursor:
            cursor.execute(statement)  # type: ignore[arg-type]  # fixed statements of this test
            return cursor.fetchall() if cursor.description else []


def _gaby(args: list[str], env: dict[str, str]) -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


@pytest.fixture(scope="module")
def install(tmp_path_factory: pytest.TempPathFactory, django_db_blocker: object) -> Iterator[Install]:
    admin = dict(settings.DATABASES["default"])
    suffix = secrets.token_hex(4)
    name, role, password = f"gaby_roles_{suffix}", f"gaby_app_{suffix}", secrets.token_urlsafe(16)
    server = database_url(admin, name="postgres")
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(role), sql.Literal(password)))
    owner_url = database_url(admin, name=name)
    app_url = database_url({**admin, "USER": role, "PASSWORD": password}, name=name)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GABY_", "DJANGO_SETTINGS", "DATABASE_URL"))}
    env |= {
        "DJANGO_SETTINGS_MODULE": "gaby_site.settings",
        "GABY_ENV": "development",
        "GABY_DATA_DIR": str(tmp_path_factory.mktemp("roles")),
        "GABY_REDIS_PREFIX": f"roles{suffix}",
        "REDIS_URL": settings.REDIS_URL,
        "DATABASE_URL": app_url,
        "GABY_DB_OWNER_URL": owner_url,
    }
    try:
        _gaby(["migrate_schemas", "--noinput", "--database", "owner"], env)
        # Onboarding as the web process does it: the client's schema is created and migrated by the owner.
        create = (
            "from tenants.services import create_client, ensure_public_tenant;"
            "ensure_public_tenant(); create_client(name='Role probe', slug='roleprobe')"
        )
        _gaby(["shell", "-c", create], env)
        yield Install(owner_url, app_url, "roleprobe")
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


@pytest.mark.parametrize("schema", ["public", "roleprobe"])
def test_the_application_role_appended_to_the_audit_chain_and_reads_it(install: Install, schema: str) -> None:
    events = install.as_app(f"SELECT event FROM {schema}.auditlog_auditevent ORDER BY sequence")
    assert ("client.created",) in events


@pytest.mark.parametrize("schema", ["public", "roleprobe"])
@pytest.mark.parametrize(
    "attack",
    [
        "UPDATE {schema}.auditlog_auditevent SET payload = '{{}}'",
        "DELETE FROM {schema}.auditlog_auditevent",
        "TRUNCATE {schema}.auditlog_auditevent",
        "ALTER TABLE {schema}.auditlog_auditevent DISABLE TRIGGER ALL",
        "DROP TABLE {schema}.auditlog_auditevent",
        "DROP FUNCTION {schema}.gaby_audit_append_only() CASCADE",
        "CREATE TABLE {schema}.planted (id int)",
    ],
)
def test_the_application_role_cannot_rewrite_disable_or_drop_the_audit_trail(
    install: Install, schema: str, attack: str
) -> None:
    # Refused by the role's privileges, before the append-only trigger would even run.
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match=r"permission denied|must be owner"):
        install.as_app(attack.format(schema=schema))


def test_the_application_role_still_writes_every_other_table(install: Install) -> None:
    install.as_app("UPDATE public.tenants_client SET name = name")
    install.as_app("UPDATE roleprobe.tickets_ticketsource SET name = name")
    assert install.as_app("SELECT count(*) FROM roleprobe.auditlog_auditevent")[0][0] >= 1


def test_migrations_refused_to_the_application_role(install: Install) -> None:
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        install.as_app("ALTER TABLE roleprobe.tickets_ticket ADD COLUMN planted int")
