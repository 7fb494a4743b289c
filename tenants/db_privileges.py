"""The application's PostgreSQL role reads and writes rows; it never owns a table nor rewrites the audit trail.

With ``GABY_DB_OWNER_URL`` set, Gaby uses two roles. The owner runs migrations and creates client schemas (the
``owner`` database alias); every request, task and consumer connects as the application role (``DATABASE_URL``).
After each migration of a schema the owner grants the application role what it needs there: every table's rows and
sequences, but on the audit table only SELECT and INSERT. Owning nothing, the application role cannot disable the
audit table's triggers, alter or drop it; lacking UPDATE, DELETE and TRUNCATE it could not rewrite the table even if
the triggers were gone. Grants are re-applied after every migration, so tables added by an upgrade are covered.

Without ``GABY_DB_OWNER_URL`` both are one role (the append-only triggers and signed anchors still hold, but that
role could switch the triggers off): docs/safety/security.md says what each setup protects against.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import connections
from psycopg import sql

AUDIT_TABLE = "auditlog_auditevent"


def owner_alias() -> str:
    """The database alias DDL runs on: ``owner`` when a separate owner role is configured, else ``default``."""
    return str(settings.DB_OWNER_ALIAS)


def application_role() -> str | None:
    """The application's role when it differs from the owner's; None when one role does both."""
    if owner_alias() == "default":
        return None
    app_user = settings.DATABASES["default"]["USER"]
    owner_user = settings.DATABASES[owner_alias()]["USER"]
    return str(app_user) if app_user and app_user != owner_user else None


def grant_application_role(alias: str, schema: str, role: str) -> None:
    """What the application role may do in ``schema``: rows everywhere, only read and append on the audit table."""
    schema_id, role_id = sql.Identifier(schema), sql.Identifier(role)
    audit = sql.Identifier(schema, AUDIT_TABLE)
    with connections[alias].cursor() as cursor:
        cursor.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(schema_id, role_id))
        cursor.execute(
            sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {} TO {}").format(schema_id, role_id)
        )
        cursor.execute(
            sql.SQL("GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA {} TO {}").format(schema_id, role_id)
        )
        cursor.execute("SELECT to_regclass(%s)", [audit.as_string(cursor.connection)])
        if cursor.fetchone()[0] is not None:  # a partial migration may not have reached the audit app yet
            # Narrowed after the grant above, whatever it held before (an upgrade from a one-role install included).
            cursor.execute(sql.SQL("REVOKE ALL ON TABLE {} FROM {}").format(audit, role_id))
            cursor.execute(sql.SQL("GRANT SELECT, INSERT ON TABLE {} TO {}").format(audit, role_id))


def grant_after_migrate(*, using: str, **_: Any) -> None:
    """post_migrate: re-grant the schema just migrated (django-tenants migrates one schema per run)."""
    role = application_role()
    if role is None or using != owner_alias():
        return
    schema = getattr(connections[using], "schema_name", None) or "public"
    grant_application_role(using, schema, role)
