"""The client schema the current database connection works in (django-tenants sets it)."""

from __future__ import annotations

from django.db import connection


def current_schema() -> str:
    return str(getattr(connection, "schema_name", "public"))
