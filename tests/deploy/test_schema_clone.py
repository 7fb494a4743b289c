"""A client schema copied from the template equals one built by Django's migrations, catalog entry by catalog entry:
columns (pgvector's dimensions included), constraints, indexes (HNSW and GIN among them), sequences and their
positions, functions, triggers, privileges, and the rows the migrations wrote (``django_migrations`` among them).
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from psycopg import sql

from tenants.schema_clone import TEMPLATE_SCHEMA, CloneRefused, clone_schema, create_from_template, migrate_template

pytestmark = pytest.mark.django_db
tenant_connection: Any = connection  # django-tenants' database wrapper (set_schema_to_public)

CATALOG = {
    "columns": """
        SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, a.attidentity,
               a.attgenerated, coalesce(pg_get_expr(d.adbin, d.adrelid), ''),
               coalesce(col_description(c.oid, a.attnum), '')
        FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE c.relnamespace = %(schema)s::regnamespace AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
        ORDER BY c.relname, a.attnum
    """,
    "tables": """
        SELECT relname, relpersistence, coalesce(reloptions::text, ''), coalesce(relacl::text, ''),
               pg_get_userbyid(relowner), coalesce(obj_description(oid, 'pg_class'), '')
        FROM pg_class WHERE relnamespace = %(schema)s::regnamespace ORDER BY relname
    """,
    "constraints": """
        SELECT c.relname, co.conname, co.contype, pg_get_constraintdef(co.oid), co.condeferrable, co.condeferred,
               co.convalidated
        FROM pg_constraint co JOIN pg_class c ON c.oid = co.conrelid
        WHERE co.connamespace = %(schema)s::regnamespace ORDER BY c.relname, co.conname
    """,
    "indexes": """
        SELECT x.relname, replace(pg_get_indexdef(i.indexrelid), ' ON ' || %(schema)s || '.', ' ON <schema>.'),
               i.indisunique, i.indisprimary
        FROM pg_index i JOIN pg_class x ON x.oid = i.indexrelid
        WHERE x.relnamespace = %(schema)s::regnamespace ORDER BY x.relname
    """,
    "sequences": """
        SELECT sequencename, data_type::text, start_value, increment_by, min_value, max_value, cycle, cache_size,
               last_value
        FROM pg_sequences WHERE schemaname = %(schema)s ORDER BY sequencename
    """,
    "sequence_owners": """
        SELECT s.relname, t.relname, a.attname FROM pg_depend d
        JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
        JOIN pg_class t ON t.oid = d.refobjid JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
        WHERE s.relnamespace = %(schema)s::regnamespace ORDER BY s.relname
    """,
    "functions": """
        SELECT proname, replace(pg_get_functiondef(oid), 'FUNCTION ' || %(schema)s || '.', 'FUNCTION <schema>.')
        FROM pg_proc WHERE pronamespace = %(schema)s::regnamespace ORDER BY proname
    """,
    "triggers": """
        SELECT c.relname, t.tgname, replace(pg_get_triggerdef(t.oid), ' ON ' || %(schema)s || '.', ' ON <schema>.'),
               p.pronamespace = %(schema)s::regnamespace
        FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_proc p ON p.oid = t.tgfoid
        WHERE c.relnamespace = %(schema)s::regnamespace AND NOT t.tgisinternal ORDER BY c.relname, t.tgname
    """,
}


def describe(schema: str) -> dict[str, list[tuple[Any, ...]]]:
    """The schema's catalog, its own name left out (read with it alone on the search_path, as references to its
    own tables then print unqualified), and the rows of every table."""
    found: dict[str, list[tuple[Any, ...]]] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("SET search_path = {}").format(sql.Identifier(schema)))
        for name, query in CATALOG.items():
            cursor.execute(query, {"schema": schema})
            found[name] = list(cursor.fetchall())
        for table, *_rest in found["tables"]:
            cursor.execute(
                "SELECT relkind FROM pg_class WHERE relnamespace = %s::regnamespace AND relname = %s", [schema, table]
            )
            if cursor.fetchone()[0] != "r":
                continue
            # When each migration was recorded is the one thing that differs: the template's were, earlier.
            columns = sql.SQL("id, app, name" if table == "django_migrations" else "*")
            cursor.execute(sql.SQL("SELECT {} FROM {} ORDER BY 1").format(columns, sql.Identifier(schema, table)))
            found[f"rows of {table}"] = [tuple(str(value) for value in row) for row in cursor.fetchall()]
    tenant_connection.set_schema_to_public()
    return found


def migrated_by_django(schema: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    call_command("migrate_schemas", schema_name=schema, interactive=False, verbosity=0)
    tenant_connection.set_schema_to_public()


def test_a_copy_of_the_template_equals_a_migrated_schema() -> None:
    migrated_by_django("refmigrated")
    assert create_from_template("default", "refcloned")
    call_command("migrate_schemas", schema_name="refcloned", interactive=False, verbosity=0)  # as create_schema does
    tenant_connection.set_schema_to_public()
    migrated, cloned = describe("refmigrated"), describe("refcloned")
    assert migrated.keys() == cloned.keys()
    for part in migrated:
        assert cloned[part] == migrated[part], part
    # What the comparison covered, so it cannot pass on two empty schemas.
    assert len(migrated["rows of django_migrations"]) > 50
    assert any("vector(384)" in row[2] for row in migrated["columns"])
    assert any("USING hnsw" in row[1] for row in migrated["indexes"])
    assert any(row[2] == "f" and "public." in row[3] for row in migrated["constraints"])  # to the public schema
    assert migrated["triggers"] and migrated["functions"] and migrated["sequences"]


def test_the_copy_keeps_the_audit_table_append_only(hartwell: Any) -> None:
    assert create_from_template("default", "refaudit")
    with connection.cursor() as cursor:
        cursor.execute("SET search_path = refaudit, public")
        with pytest.raises(Exception, match="append-only"):
            cursor.execute("TRUNCATE auditlog_auditevent")  # the copy's trigger calls the copy's own function
    tenant_connection.set_schema_to_public()


def test_a_template_holding_what_a_copy_would_miss_is_refused_and_nothing_is_left() -> None:
    migrate_template("default")
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("CREATE VIEW {} AS SELECT 1 AS one").format(sql.Identifier(TEMPLATE_SCHEMA, "a_view")))
    with pytest.raises(CloneRefused, match="a_view"):
        clone_schema("default", TEMPLATE_SCHEMA, "refrefused")
    assert not create_from_template("default", "refrefused", template_migrated=True)  # the caller migrates instead
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regnamespace('refrefused')")
        assert cursor.fetchone()[0] is None


def test_a_new_client_is_a_copy_that_works(people: Any) -> None:
    from tenants.services import create_client

    client = create_client(name="Copied Co", slug="copiedco", admin=people["alice"])
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM copiedco.django_migrations")
        assert cursor.fetchone()[0] > 50
        cursor.execute("SELECT count(*) FROM copiedco.auditlog_auditevent")  # create_client's first audit link
        assert cursor.fetchone()[0] == 1
    assert client.schema_name == "copiedco"
