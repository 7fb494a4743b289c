"""Writes that travel to PostgreSQL together: one query string, one round trip, all or nothing.

Each statement the ORM sends is a round trip, and ``transaction.atomic()`` adds two more (BEGIN and COMMIT). A
worker pays each of them in full after every wait on a model or a tool, when both it and PostgreSQL have gone
idle: the tool gate's decision (its row and its audit event) took five round trips that way; here it takes one.

PostgreSQL runs the statements of one query string as a single implicit transaction when no transaction is open,
so they commit together or not at all. Inside the caller's transaction they join it, under a savepoint like a
nested ``transaction.atomic()`` unless the caller asks otherwise. Several statements can share one string because
Django's PostgreSQL cursors bind parameters on the client (the project leaves ``server_side_binding`` off).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, transaction
from django.db.models import Model, Q, QuerySet
from django.db.models.sql import InsertQuery, UpdateQuery


@dataclass(frozen=True)
class Statement:
    sql: str
    params: Sequence[Any] = field(default_factory=tuple)
    inserts: Model | None = None  # the new row it stores: marked stored once the statements have run


def insert(obj: Model) -> Statement:
    """The INSERT ``obj.save()`` would send for a new row, without sending it (``auto_now_add`` is applied to ``obj``).

    The primary key must come from the field's default (the project's UUIDs): nothing is read back."""
    meta = obj._meta
    if obj.pk is None:
        raise ValueError(f"{meta.label} needs its primary key before it is batched (a default, not the database).")
    query = InsertQuery(type(obj))
    query.insert_values([f for f in meta.local_concrete_fields if not f.generated], [obj])
    ((sql, params),) = query.get_compiler(using=DEFAULT_DB_ALIAS).as_sql()
    return Statement(sql, params, inserts=obj)


def update(queryset: QuerySet[Any], **values: Any) -> Statement:
    """The UPDATE ``queryset.update(**values)`` would send (its own table only), without sending it."""
    query = queryset.query.chain(UpdateQuery)
    assert isinstance(query, UpdateQuery)
    query.add_update_values(values)
    if query.get_related_updates():
        raise ValueError("Only a model's own fields can be updated in a batch.")
    sql, params = query.get_compiler(using=DEFAULT_DB_ALIAS).as_sql()
    return Statement(sql, params)


def update_row(obj: Model) -> Statement:
    """The UPDATE ``obj.save()`` would send for a stored row (every field, ``auto_now`` applied), without sending it."""
    meta = obj._meta
    query = UpdateQuery(type(obj))
    query.add_update_fields(
        [(f, None, f.pre_save(obj, False)) for f in meta.local_concrete_fields if not (f.primary_key or f.generated)]
    )
    query.add_q(Q(pk=obj.pk))
    sql, params = query.get_compiler(using=DEFAULT_DB_ALIAS).as_sql()
    return Statement(sql, params)


def run_together(*statements: Statement, savepoint: bool = True) -> list[tuple[Any, ...]]:
    """Send ``statements`` in one round trip; the rows of the last one (when it returns any). The rows they insert
    are then marked stored, as ``save()`` would mark them (a later ``save()`` updates instead of inserting).

    ``savepoint=False``: inside the caller's transaction, a failure fails that whole transaction (no savepoint
    round trips), as a plain ORM statement would."""
    if not statements:
        return []
    sql = ";\n".join(statement.sql for statement in statements)
    params = [param for statement in statements for param in statement.params]
    guard: AbstractContextManager[Any] = (
        transaction.atomic() if savepoint and connection.in_atomic_block else transaction.mark_for_rollback_on_error()
    )
    with guard, connection.cursor() as cursor:
        cursor.execute(sql, params)
        for _ in statements[1:]:
            cursor.nextset()
        returned = list(cursor.fetchall()) if cursor.description else []
    for row in (statement.inserts for statement in statements):
        if row is not None:
            row._state.adding, row._state.db = False, DEFAULT_DB_ALIAS
    return returned
