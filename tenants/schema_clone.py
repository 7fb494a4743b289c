"""A new client's schema, copied from a migrated template schema instead of built by Django's migrations.

Migrating a fresh schema costs about a second of CPU, nearly all of it Django rendering model states in Python
(the DDL itself is a small part: docs/reports/footprint.html). PostgreSQL copies the ~45 tables of a migrated
schema in a fraction of that, so a new client's schema is cloned from ``TEMPLATE_SCHEMA``, which is migrated like
any client's (by ``gaby upgrade`` and before each clone). Client creation then migrates the copy the ordinary way:
that run finds nothing to apply (or applies what the template lacked), and its post_migrate handlers (the
application role's grants) run as for any schema. ``gaby upgrade``, having just migrated the template itself,
only grants (tenants/schema_migrations.py).

django-tenants has this mechanism (``TENANT_BASE_SCHEMA`` with its bundled pg-clone-schema function), but that
function rebuilds each table from text and loses a pgvector column's dimensions (``embedding public.vector``), so
the HNSW index on it fails: "column does not have dimensions". Here PostgreSQL copies each table itself:

- ``CREATE TABLE ... (LIKE ... INCLUDING ALL)``: columns with their exact types (``vector(384)``), defaults,
  NOT NULL and CHECK constraints, identity columns (each with its own new sequence), comments, and every index
  and primary key, unique or exclusion constraint as parsed (a partial index's predicate re-created from its
  text would differ), renamed to the template's names (later migrations drop and rename them by name);
- then the rows the migrations wrote (``django_migrations``, content types), each sequence's type, options and
  position, the schema's functions, the triggers that call them, and last the foreign keys.

Definitions are read with the template alone on the search_path, so its own tables print unqualified, and run
with the new schema first on it. A template holding anything this does not copy (a view, a type, a partitioned
table) is refused with the reason, and the caller migrates the schema the ordinary way.
tests/deploy/test_schema_clone.py compares a clone with a migrated schema, catalog entry by catalog entry.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import structlog
from django.core.management import call_command
from django.db import connections, transaction
from psycopg import sql

log = structlog.get_logger(__name__)
TEMPLATE_SCHEMA = "gaby_template"
_LOCK = 0x6761_6279_7470_6C  # advisory lock key ("gabytpl"): the template's migration excludes every clone


class CloneRefused(RuntimeError):
    """The template holds something ``clone_schema`` does not copy; migrate the schema instead."""


def lock_template(alias: str, *, to_migrate: bool) -> None:
    """Inside a transaction, until it ends: migrating the template excludes everyone else; cloning it excludes
    only its migration (clones run side by side), so no clone reads a half-migrated template. django-tenants'
    migrate command commits only when no transaction is open, so the template's migration holds the lock to its
    end."""
    function = "pg_advisory_xact_lock" if to_migrate else "pg_advisory_xact_lock_shared"
    with connections[alias].cursor() as cursor:
        cursor.execute(f"SELECT {function}(%s)", [_LOCK])


@contextmanager
def _one_transaction(alias: str) -> Iterator[None]:
    """A transaction on ``alias`` that django-tenants' migrate command does not end: it commits and closes the
    connection after each schema unless the *default* alias is inside a transaction, so both are."""
    with ExitStack() as stack:
        for name in dict.fromkeys([alias, "default"]):
            stack.enter_context(transaction.atomic(using=name))
        yield


def migrate_template(alias: str) -> None:
    """Create the template schema if missing and apply what it lacks (nothing, most times: a fraction of a second)."""
    with _one_transaction(alias):
        lock_template(alias, to_migrate=True)
        with connections[alias].cursor() as cursor:
            cursor.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(TEMPLATE_SCHEMA)))
        call_command("migrate_schemas", schema_name=TEMPLATE_SCHEMA, database=alias, interactive=False, verbosity=0)
    owner: Any = connections[alias]  # django-tenants' database wrapper (set_schema_to_public)
    owner.set_schema_to_public()


def create_from_template(alias: str, schema: str, *, template_migrated: bool = False) -> bool:
    """Make ``schema`` (new, or existing and empty) a copy of the migrated template; False, with the reason logged,
    when the template holds what a copy would miss (the caller then migrates the schema the ordinary way)."""
    if not template_migrated:
        migrate_template(alias)
    try:
        with transaction.atomic(using=alias):
            lock_template(alias, to_migrate=False)
            clone_schema(alias, TEMPLATE_SCHEMA, schema)
    except CloneRefused as exc:
        log.warning("schema_clone_refused", schema=schema, reason=str(exc))
        return False
    return True


def is_empty(alias: str, schema: str) -> bool:
    """The schema exists and holds no table, index nor sequence yet (a client's whose tables were never made)."""
    with connections[alias].cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = %s) "
            "AND NOT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s)",
            [schema, schema],
        )
        return bool(cursor.fetchone()[0])


def _rows(cursor: Any, query: str, params: list[Any]) -> list[tuple[Any, ...]]:
    cursor.execute(query, params)
    return list(cursor.fetchall())


def _refuse_what_is_not_copied(cursor: Any, template: str) -> None:
    found = _rows(
        cursor,
        """
        SELECT 'relation ' || c.relname || ' (kind ' || c.relkind::text || ')' FROM pg_class c
        WHERE c.relnamespace = %s::regnamespace AND c.relkind NOT IN ('r', 'i', 'S')
        UNION ALL
        SELECT 'type ' || t.typname FROM pg_type t
        WHERE t.typnamespace = %s::regnamespace AND t.typtype NOT IN ('b', 'c')
        UNION ALL
        SELECT 'function ' || p.proname || ' (kind ' || p.prokind::text || ')' FROM pg_proc p
        WHERE p.pronamespace = %s::regnamespace AND p.prokind <> 'f'
        """,
        [template, template, template],
    )
    if found:
        raise CloneRefused(
            f"The template schema {template} holds what a clone would miss: {', '.join(r[0] for r in found)}."
        )


_INDEXES = """
    SELECT c.relname, x.relname, pg_get_indexdef(i.indexrelid), co.conname IS NOT NULL
    FROM pg_index i JOIN pg_class x ON x.oid = i.indexrelid JOIN pg_class c ON c.oid = i.indrelid
    LEFT JOIN pg_constraint co ON co.conindid = i.indexrelid AND co.conrelid = i.indrelid
    WHERE x.relnamespace = %s::regnamespace ORDER BY c.relname, i.indexrelid
"""


def _shape(definition: str) -> str:
    """An index definition without its own name and its table's schema: what it indexes, and how."""
    head, _, rest = definition.partition(" ON ")
    return f"{'UNIQUE ' if head.startswith('CREATE UNIQUE') else ''}{rest.split('.', 1)[-1]}"


def _name_indexes_as_in(cursor: Any, template: str, target: str) -> None:
    """``LIKE ... INCLUDING INDEXES`` copies each index (its expressions and predicate exactly as parsed, where
    re-creating it from its text would not) under a name of PostgreSQL's choosing: give each its template name."""
    wanted: dict[tuple[str, str], list[str]] = {}
    for table, name, definition, _backs in _rows(cursor, _INDEXES, [template]):
        wanted.setdefault((table, _shape(definition)), []).append(name)
    renames: list[tuple[str, str, bool, str]] = []  # table, name given, backs a constraint, template's name
    for table, name, definition, backs in _rows(cursor, _INDEXES, [target]):
        names = wanted.get((table, _shape(definition)))
        if not names:
            raise CloneRefused(f"Index {name} on {table} has no counterpart in {template}.")
        renames.append((table, name, backs, names.pop(0)))
    moves = [(table, name, backs, final) for table, name, backs, final in renames if name != final]
    # A name PostgreSQL chose may be the name another index is to take: that one steps aside first.
    finals = {final for _table, _name, _backs, final in moves}
    for step, (table, name, backs, final) in enumerate(moves):
        if name in finals:
            _rename_index(cursor, target, table, backs, name, f"gaby_clone_{step}")
            moves[step] = (table, f"gaby_clone_{step}", backs, final)
    for table, name, backs, final in moves:
        _rename_index(cursor, target, table, backs, name, final)


def _rename_index(cursor: Any, schema: str, table: str, backs_constraint: bool, old: str, new: str) -> None:
    if backs_constraint:  # renaming the constraint renames its index with it
        statement = sql.SQL("ALTER TABLE {} RENAME CONSTRAINT {} TO {}").format(
            sql.Identifier(schema, table), sql.Identifier(old), sql.Identifier(new)
        )
    else:
        statement = sql.SQL("ALTER INDEX {} RENAME TO {}").format(sql.Identifier(schema, old), sql.Identifier(new))
    cursor.execute(statement)


def clone_schema(alias: str, template: str, target: str) -> None:
    """Copy ``template``'s tables, rows, sequences, functions and triggers into the empty schema ``target``
    (created when missing), in one transaction: on any error nothing of the clone remains."""
    source, new = sql.Identifier(template), sql.Identifier(target)
    with transaction.atomic(using=alias), connections[alias].cursor() as cursor:
        _refuse_what_is_not_copied(cursor, template)
        cursor.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(new))
        if _rows(cursor, "SELECT 1 FROM pg_class WHERE relnamespace = %s::regnamespace LIMIT 1", [target]):
            raise CloneRefused(f"Schema {target} is not empty: clone only into a new schema.")
        # Read every definition with only the template visible: its own names print unqualified.
        cursor.execute(sql.SQL("SET LOCAL search_path = {}").format(source))
        tables = [
            r[0]
            for r in _rows(
                cursor,
                "SELECT relname FROM pg_class WHERE relnamespace = %s::regnamespace AND relkind = 'r' ORDER BY relname",
                [template],
            )
        ]
        foreign_keys = _rows(
            cursor,
            """
            SELECT c.relname, co.conname, pg_get_constraintdef(co.oid) FROM pg_constraint co
            JOIN pg_class c ON c.oid = co.conrelid
            WHERE co.connamespace = %s::regnamespace AND co.contype = 'f'
            ORDER BY c.relname, co.conname
            """,
            [template],
        )
        functions = [
            r[0]
            for r in _rows(
                cursor,
                "SELECT pg_get_functiondef(p.oid) FROM pg_proc p WHERE p.pronamespace = %s::regnamespace "
                "ORDER BY p.proname",
                [template],
            )
        ]
        triggers = [
            r[0]
            for r in _rows(
                cursor,
                "SELECT pg_get_triggerdef(t.oid) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                "WHERE c.relnamespace = %s::regnamespace AND NOT t.tgisinternal ORDER BY c.relname, t.tgname",
                [template],
            )
        ]
        columns = {
            table: [
                r[0]
                for r in _rows(
                    cursor,
                    "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 "
                    "AND NOT attisdropped AND attgenerated = '' ORDER BY attnum",
                    [sql.Identifier(template, table).as_string(cursor.connection)],
                )
            ]
            for table in tables
        }
        sequences = _rows(
            cursor,
            "SELECT sequencename, data_type::text, increment_by, min_value, max_value, start_value, cache_size, cycle "
            "FROM pg_sequences WHERE schemaname = %s ORDER BY sequencename",
            [template],
        )

        # Run them with the new schema first: unqualified names now mean its objects.
        cursor.execute(sql.SQL("SET LOCAL search_path = {}, public").format(new))
        # pg_get_indexdef, _triggerdef and _functiondef name the table (the function) with its schema, quoted the
        # way PostgreSQL prints it; only that schema changes.
        printed_in, printed_out = _rows(cursor, "SELECT quote_ident(%s), quote_ident(%s)", [template, target])[0]
        qualified_in, qualified_out = f" ON {printed_in}.", f" ON {printed_out}."
        for table in tables:
            cursor.execute(
                sql.SQL("CREATE TABLE {} (LIKE {} INCLUDING ALL)").format(
                    sql.Identifier(target, table), sql.Identifier(template, table)
                )
            )
        _name_indexes_as_in(cursor, template, target)
        # The rows the migrations wrote: only a few tables hold any (asked in one round trip).
        holding = sql.SQL(" UNION ALL ").join(
            sql.SQL("SELECT {} WHERE EXISTS (SELECT 1 FROM {})").format(
                sql.Literal(table), sql.Identifier(template, table)
            )
            for table in tables
        )
        cursor.execute(holding)
        for (table,) in cursor.fetchall():
            names = sql.SQL(", ").join(sql.Identifier(column) for column in columns[table])
            cursor.execute(
                sql.SQL("INSERT INTO {} ({}) OVERRIDING SYSTEM VALUE SELECT {} FROM {}").format(
                    sql.Identifier(target, table), names, names, sql.Identifier(template, table)
                )
            )
        for sequence, data_type, increment, least, most, start, cache, cycle in sequences:
            # An identity column's copy has its own sequence, but typed bigint whatever the template's said.
            target_sequence, template_sequence = sql.Identifier(target, sequence), sql.Identifier(template, sequence)
            cursor.execute(sql.SQL("CREATE SEQUENCE IF NOT EXISTS {}").format(target_sequence))
            cursor.execute(
                sql.SQL(
                    "ALTER SEQUENCE {} AS {} INCREMENT BY %s MINVALUE %s MAXVALUE %s START WITH %s CACHE %s {}"
                ).format(target_sequence, sql.SQL(data_type), sql.SQL("CYCLE" if cycle else "NO CYCLE")),
                [increment, least, most, start, cache],
            )
            cursor.execute(
                sql.SQL("SELECT setval(%s, last_value, is_called) FROM {}").format(template_sequence),
                [target_sequence.as_string(cursor.connection)],
            )
        header_in, header_out = f"FUNCTION {printed_in}.", f"FUNCTION {printed_out}."
        for definition in functions:
            cursor.execute(definition.replace(header_in, header_out, 1))
        for definition in triggers:
            cursor.execute(definition.replace(qualified_in, qualified_out, 1))
        for table, name, definition in foreign_keys:
            cursor.execute(
                sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} ").format(sql.Identifier(target, table), sql.Identifier(name))
                + sql.SQL(definition)
            )
