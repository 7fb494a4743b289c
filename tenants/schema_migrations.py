"""Migrate the public schema, then every client schema one by one, and say what each one applied.

django-tenants' ``migrate_schemas`` does the migrating (one schema per call, as the owner role, so the grants of
tenants/db_privileges.py follow each schema); what a schema applied is read from its own ``django_migrations``
table before and after, so the count is what PostgreSQL recorded, not what a plan predicted.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.core.management import call_command
from django.db import connections
from django_tenants.utils import get_public_schema_name
from psycopg import sql

from tenants.db_privileges import owner_alias
from tenants.models import Client


@dataclass
class SchemaMigrated:
    label: str  # "public schema" or "client 3/24 hartwell"
    schema: str
    applied: list[tuple[str, str]] = field(default_factory=list)  # (app, migration), in the order applied

    @property
    def by_app(self) -> Counter[str]:
        return Counter(app for app, _name in self.applied)

    def line(self) -> str:
        if not self.applied:
            return f"{self.label}: up to date"
        count = len(self.applied)
        apps = ", ".join(f"{app} {n}" for app, n in sorted(self.by_app.items()))
        return f"{self.label}: {count} migration{'s' if count != 1 else ''} applied ({apps})"


class SchemaMigrationFailed(RuntimeError):
    def __init__(self, label: str, schema: str, error: Exception) -> None:
        self.label, self.schema = label, schema
        super().__init__(f"{label} (schema {schema}) failed: {error.__class__.__name__}: {error}")


def recorded(alias: str, schema: str) -> list[tuple[str, str]]:
    """The migrations ``schema``'s own table records, oldest first; none before its first migration."""
    with connections[alias].cursor() as cursor:
        table = sql.Identifier(schema, "django_migrations")
        cursor.execute("SELECT to_regclass(%s)", [table.as_string(cursor.connection)])
        if cursor.fetchone()[0] is None:
            return []
        cursor.execute(sql.SQL("SELECT app, name FROM {} ORDER BY id").format(table))
        return [(app, name) for app, name in cursor.fetchall()]


def _migrate(alias: str, label: str, schema: str, **options: object) -> SchemaMigrated:
    before = set(recorded(alias, schema))
    try:
        call_command("migrate_schemas", interactive=False, verbosity=0, database=alias, **options)
    except Exception as exc:  # the schema's name and where the run stopped matter more than the class
        raise SchemaMigrationFailed(label, schema, exc) from exc
    return SchemaMigrated(label, schema, [row for row in recorded(alias, schema) if row not in before])


def migrate_every_schema(progress: Callable[[SchemaMigrated], None]) -> list[SchemaMigrated]:
    """Public first (it holds the clients list), then each client in schema order; ``progress`` hears each one.

    Stops at the first schema that fails: the ones before it stay migrated, and running again resumes there.
    """
    alias = owner_alias()
    public = get_public_schema_name()
    results = [_migrate(alias, "public schema", public, shared=True)]
    progress(results[0])
    clients = list(Client.objects.using(alias).exclude(schema_name=public).order_by("schema_name"))
    for index, client in enumerate(clients, start=1):
        label = f"client {index}/{len(clients)} {client.slug}"
        result = _migrate(alias, label, client.schema_name, schema_name=client.schema_name)
        results.append(result)
        progress(result)
    owner: Any = connections[alias]  # django-tenants' database wrapper (set_schema_to_public)
    owner.set_schema_to_public()
    return results
