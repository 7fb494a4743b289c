"""``gaby upgrade`` migrating client schemas in several processes at once, on committed clients (a child process
cannot see a test transaction's rows): empty schemas are copied from the template, every schema reports what it
recorded, in schema order, and a schema that fails is named in the parent."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from psycopg import sql

from tenants.models import Client
from tenants.schema_migrations import SchemaMigrated, SchemaMigrationFailed, migrate_every_schema, recorded


@pytest.fixture
def committed_clients(world: Any, django_db_blocker: Any) -> Iterator[list[Client]]:
    """Two clients whose schemas exist but hold nothing (as a client's whose creation stopped early)."""
    with django_db_blocker.unblock():
        made = []
        for slug in ("procsone", "procstwo"):
            client = Client(name=slug, slug=slug, schema_name=slug)
            client.auto_create_schema = False
            client.save()
            with connection.cursor() as cursor:
                cursor.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(slug)))
            made.append(client)
        try:
            yield made
        finally:
            for client in Client.objects.filter(slug__startswith="procs"):
                with connection.cursor() as cursor:
                    cursor.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(client.slug)))
                Client.objects.filter(pk=client.pk).delete()


def test_schemas_migrate_in_processes_and_report_in_schema_order(
    committed_clients: list[Client], django_db_blocker: Any
) -> None:
    with django_db_blocker.unblock():
        heard: list[SchemaMigrated] = []
        results = migrate_every_schema(heard.append, processes=2)
        assert [r.label for r in results[:2]] == ["public schema", "template schema"]
        clients = results[2:]
        assert [r.schema for r in clients] == sorted(r.schema for r in clients)  # schema order, whatever finished first
        assert {r.schema for r in heard} == {r.schema for r in results}  # progress heard each one
        new = {r.schema: r for r in clients if r.schema in {"procsone", "procstwo"}}
        for schema, result in new.items():
            assert result.cloned and len(result.applied) > 50
            assert "copied from the template schema" in result.line()
            assert set(result.applied) == set(recorded("default", schema))
        assert all(not r.applied for r in clients if r.schema not in new)  # the others were up to date

        again = migrate_every_schema(lambda _r: None, processes=2)
        assert all(not r.applied for r in again)


def test_a_failing_schema_is_named_in_the_parent(committed_clients: list[Client], django_db_blocker: Any) -> None:
    with django_db_blocker.unblock():
        ghost = Client(name="procsghost", slug="procsghost", schema_name="procsghost")
        ghost.auto_create_schema = False
        ghost.save()  # its schema was never made: migrate_schemas refuses it, in a child process
        with pytest.raises(SchemaMigrationFailed, match=r"client \d+/\d+ procsghost \(schema procsghost\) failed"):
            migrate_every_schema(lambda _r: None, processes=2)
