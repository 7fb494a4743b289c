"""One aggregate over every client's schema, in one statement: what a scrape or the status page reads.

Each client keeps its rows in its own PostgreSQL schema (django-tenants). Asking each schema in turn costs a round
trip per client per figure; a ``UNION ALL`` of the same ``SELECT`` over every schema costs one, whatever the number
of clients. Schema names come from the ``Client`` rows (django-tenants validates them) and are quoted as
identifiers; every value is a bound parameter.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection
from django.db.models import Model
from django_tenants.utils import get_public_schema_name

from tenants.models import Client


def client_schemas(*, active_only: bool = True) -> list[str]:
    """The schema of every active client (or every client, switched off too), in a stable order (the public
    schema is not a client)."""
    clients = Client.objects.exclude(schema_name=get_public_schema_name())
    if active_only:
        clients = clients.filter(is_active=True)
    return list(clients.order_by("schema_name").values_list("schema_name", flat=True))


def table(schema: str, model: type[Model]) -> str:
    """``"schema"."table"`` for ``model`` in ``schema``, quoted."""
    quote = connection.ops.quote_name
    return f"{quote(schema)}.{quote(model._meta.db_table)}"


def per_client(
    schemas: Sequence[str],
    model: type[Model],
    select: str,
    *,
    where: str = "TRUE",
    group_by: str = "",
    params: Sequence[Any] = (),
    select_params: Sequence[Any] = (),
) -> list[tuple[Any, ...]]:
    """Rows of ``SELECT <schema>, <select> FROM <schema>.<model's table> WHERE <where> [GROUP BY <group_by>]`` for
    every schema, in one statement. ``select``, ``where`` and ``group_by`` are SQL written by Gaby (never input);
    ``select_params`` fill the ``%s`` of ``select`` and ``params`` those of ``where``, once per schema."""
    if not schemas:
        return []
    parts, values = [], []
    for schema in schemas:
        grouping = f" GROUP BY {group_by}" if group_by else ""
        # Only identifiers quoted above and SQL written in this app are joined in; values are bound parameters.
        parts.append(f"SELECT %s AS client, {select} FROM {table(schema, model)} WHERE {where}{grouping}")  # noqa: S608
        values.extend([schema, *select_params, *params])
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), values)
        return list(cursor.fetchall())
