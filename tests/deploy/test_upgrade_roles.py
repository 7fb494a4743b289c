"""``gaby upgrade`` as production runs it: a separate process, the application role in DATABASE_URL and the owner
in GABY_DB_OWNER_URL. It migrates as the owner, and the application role can use what the upgrade added."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from tests.deploy.migration_counts import applied, tickets_after
from tests.test_db_roles import ROOT, Install, install  # noqa: F401  (the two-role database fixture)

pytestmark = pytest.mark.django_db(transaction=False)


def run_gaby(target: Install, data_dir: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GABY_", "DJANGO_SETTINGS", "DATABASE_URL"))}
    env |= {
        "DJANGO_SETTINGS_MODULE": "gaby_site.settings",
        "GABY_ENV": "development",
        "GABY_DATA_DIR": str(data_dir),
        "REDIS_URL": settings.REDIS_URL,
        "DATABASE_URL": target.app_url,
        "GABY_DB_OWNER_URL": target.owner_url,
    }
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


def save_a_view_as_the_application(target: Install, schema: str) -> None:
    target.as_app(
        f"INSERT INTO {schema}.tickets_savedview (id, user_id, name, query, created_at) "
        "VALUES (gen_random_uuid(), gen_random_uuid(), 'mine', 'status:open', now())"
    )


def test_upgrade_migrates_as_the_owner_and_the_application_role_uses_the_result(
    install: Install,  # noqa: F811
    tmp_path: Path,
) -> None:
    run_gaby(
        install,
        tmp_path,
        "migrate_schemas",
        "tickets",
        "0005_ticketpush_attachment_error_attachment_external_id_and_more",
        "--schema",
        install.schema,
        "--database",
        "owner",
        "--noinput",
    )
    assert install.as_app(f"SELECT to_regclass('{install.schema}.tickets_savedview')") == [(None,)]

    out = run_gaby(install, tmp_path, "gaby", "upgrade")
    assert "Migrating every schema (database alias 'owner')" in out
    count = tickets_after("0005_ticketpush_attachment_error_attachment_external_id_and_more")
    assert re.search(rf"client 1/1 {install.schema}: {applied(count)}", out), out
    assert "Connector tools: no enabled connector to check." in out
    # The owner re-granted the application role on the schema it just migrated: the new table is usable.
    save_a_view_as_the_application(install, install.schema)
    again = run_gaby(install, tmp_path, "gaby", "upgrade", "--skip-connectors")
    assert "template schema: up to date" in again  # new clients' schemas are copied from it (schema_clone.py)
    assert "Nothing to apply: all 3 schemas were up to date." in again


def test_upgrade_copies_an_empty_client_schema_and_the_application_role_uses_it(
    install: Install,  # noqa: F811
    tmp_path: Path,
) -> None:
    # A client whose schema exists but was never given its tables (as if its creation had stopped there).
    run_gaby(
        install,
        tmp_path,
        "shell",
        "-c",
        "from django.db import connections; from tenants.models import Client; "
        "c = Client(name='Empty probe', slug='emptyprobe', schema_name='emptyprobe'); c.auto_create_schema = False; "
        "c.save(); connections['owner'].cursor().execute('CREATE SCHEMA emptyprobe')",
    )
    out = run_gaby(install, tmp_path, "gaby", "upgrade", "--skip-connectors")
    assert re.search(r"client \d+/\d+ emptyprobe: \d+ migrations copied from the template schema", out), out
    # The owner granted the application role on the copy as it does after a migration: rows, not the audit trail.
    save_a_view_as_the_application(install, "emptyprobe")
    with pytest.raises(Exception, match="permission denied"):
        install.as_app("DELETE FROM emptyprobe.auditlog_auditevent")
