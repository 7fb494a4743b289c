"""Migrate the public schema, then every client schema, and say what each one applied.

django-tenants' ``migrate_schemas`` does the migrating (one schema per call, as the owner role, so the grants of
tenants/db_privileges.py follow each schema); what a schema applied is read from its own ``django_migrations``
table before and after, so the count is what PostgreSQL recorded, not what a plan predicted.

Client schemas are migrated in ``settings.MIGRATION_PROCESSES`` forked processes at once. Most of a schema's
migration time is Django rendering model states in Python (CPU-bound, one core per process), not PostgreSQL's
DDL: docs/reports/footprint.html has the figures. django-tenants' own ``--executor=multiprocessing`` forks the same
way, but its pool's results never reach the caller (no per-schema progress nor counts) and a failure surfaces only
once every schema has run, hence the standard library's process pool here around the same per-schema command.
Inside a transaction (a test's, or a caller's atomic block) the children could not see its uncommitted rows, so
the schemas are then migrated one by one in this process.
"""

from __future__ import annotations

import multiprocessing
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.db import connections
from django_tenants.utils import get_public_schema_name
from psycopg import sql

from tenants.db_privileges import application_role, grant_application_role, owner_alias
from tenants.models import Client
from tenants.schema_clone import TEMPLATE_SCHEMA, create_from_template, is_empty, migrate_template


@dataclass
class SchemaMigrated:
    label: str  # "public schema" or "client 3/24 hartwell"
    schema: str
    applied: list[tuple[str, str]] = field(default_factory=list)  # (app, migration), in the order applied
    cloned: bool = False  # an empty schema made a copy of the template (its migrations recorded, not run)

    @property
    def by_app(self) -> Counter[str]:
        return Counter(app for app, _name in self.applied)

    def line(self) -> str:
        if not self.applied:
            return f"{self.label}: up to date"
        count = len(self.applied)
        apps = ", ".join(f"{app} {n}" for app, n in sorted(self.by_app.items()))
        done = "copied from the template schema" if self.cloned else "applied"
        return f"{self.label}: {count} migration{'s' if count != 1 else ''} {done} ({apps})"


class SchemaMigrationFailed(RuntimeError):
    def __init__(self, label: str, schema: str, error: Exception | str) -> None:
        self.label, self.schema = label, schema
        self.reason = error if isinstance(error, str) else f"{error.__class__.__name__}: {error}"
        super().__init__(f"{label} (schema {schema}) failed: {self.reason}")

    def __reduce__(self) -> tuple[Any, ...]:
        # Raised in a migrating child process and re-raised in the parent: only the text crosses (the database
        # error it wraps may not pickle).
        return (self.__class__, (self.label, self.schema, self.reason))


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


def migrate_client_schema(alias: str, label: str, schema: str, *, from_template: bool = False) -> SchemaMigrated:
    """One client schema: when ``from_template`` and it holds nothing yet, a copy of the template (migrated by this
    run just before: the copy has nothing left to apply, so only the application role's grants follow, as after
    a migration); otherwise migrated."""
    try:
        if from_template and is_empty(alias, schema) and create_from_template(alias, schema, template_migrated=True):
            role = application_role()
            if role is not None:
                grant_application_role(alias, schema, role)
            return SchemaMigrated(label, schema, recorded(alias, schema), cloned=True)
    except Exception as exc:  # the schema's name, as for a migration that fails
        raise SchemaMigrationFailed(label, schema, exc) from exc
    return _migrate(alias, label, schema, schema_name=schema)


def _in_child(alias: str, label: str, schema: str, from_template: bool) -> SchemaMigrated:
    """``migrate_client_schema`` in a child process of the pool, its connections closed after."""
    try:
        return migrate_client_schema(alias, label, schema, from_template=from_template)
    finally:
        connections.close_all()


def _template(alias: str) -> SchemaMigrated:
    before = set(recorded(alias, TEMPLATE_SCHEMA))
    try:
        migrate_template(alias)
    except Exception as exc:  # the template's name and what failed, as for any schema
        raise SchemaMigrationFailed("template schema", TEMPLATE_SCHEMA, exc) from exc
    applied = [row for row in recorded(alias, TEMPLATE_SCHEMA) if row not in before]
    return SchemaMigrated("template schema", TEMPLATE_SCHEMA, applied)


def migrate_in_processes(
    alias: str,
    jobs: list[tuple[str, str]],
    processes: int,
    progress: Callable[[SchemaMigrated], None],
    *,
    from_template: bool = False,
) -> list[SchemaMigrated]:
    """``jobs`` ((label, schema) pairs) in ``processes`` forked children; ``progress`` hears each as it ends, and
    the results come back in the order of ``jobs``. The first failure cancels the schemas not yet started and is
    raised once the running ones end."""
    # A forked child must open its own connections: sharing the parent's socket would interleave two sessions.
    connections.close_all()
    done: dict[str, SchemaMigrated] = {}
    failed: SchemaMigrationFailed | None = None
    with ProcessPoolExecutor(max_workers=processes, mp_context=multiprocessing.get_context("fork")) as pool:
        futures: dict[Future[SchemaMigrated], str] = {
            pool.submit(_in_child, alias, label, schema, from_template): schema for label, schema in jobs
        }
        for future in as_completed(futures):
            try:
                result = future.result()
            except SchemaMigrationFailed as exc:
                if failed is None:  # stop handing out schemas; the ones already running finish
                    failed = exc
                    for pending in futures:
                        pending.cancel()
                continue
            except Exception as exc:  # a child that died (killed, out of memory): its schema named
                if not future.cancelled():
                    schema = futures[future]
                    label = next(label for label, name in jobs if name == schema)
                    failed = failed or SchemaMigrationFailed(label, schema, exc)
                continue
            done[result.schema] = result
            progress(result)
    if failed is not None:
        raise failed
    return [done[schema] for _label, schema in jobs]


def migrate_every_schema(
    progress: Callable[[SchemaMigrated], None], *, processes: int | None = None
) -> list[SchemaMigrated]:
    """Public first (it holds the clients list), then the template schema new clients are copied from, then the
    client schemas; ``progress`` hears each one as it ends.

    A client schema that holds nothing yet (its creation stopped before its tables, or a client saved with its
    schema alone) is first made a copy of the template, as a new client's is (tenants/schema_clone.py).
    ``processes`` (default ``settings.MIGRATION_PROCESSES``) client schemas migrate at once; results come back in
    schema order whatever order they finished in. At the first schema that fails no further one starts: the ones
    migrated stay migrated, and running again resumes with those left.
    """
    alias = owner_alias()
    public = get_public_schema_name()
    results = [_migrate(alias, "public schema", public, shared=True)]
    progress(results[0])
    clients = list(Client.objects.using(alias).exclude(schema_name=public).order_by("schema_name"))
    from_template = bool(settings.CLIENT_SCHEMA_FROM_TEMPLATE)
    if from_template:
        results.append(_template(alias))
        progress(results[-1])
    jobs = [
        (f"client {index}/{len(clients)} {client.slug}", client.schema_name)
        for index, client in enumerate(clients, start=1)
    ]
    workers = min(processes or settings.MIGRATION_PROCESSES, len(jobs))
    in_transaction = any(connections[name].in_atomic_block for name in {alias, "default"})
    if workers > 1 and not in_transaction:
        results += migrate_in_processes(alias, jobs, workers, progress, from_template=from_template)
    else:
        for label, schema in jobs:
            result = migrate_client_schema(alias, label, schema, from_template=from_template)
            results.append(result)
            progress(result)
    owner: Any = connections[alias]  # django-tenants' database wrapper (set_schema_to_public)
    owner.set_schema_to_public()
    return results
