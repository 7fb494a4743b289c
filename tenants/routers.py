"""Migrations on the owner alias (tenants/db_privileges.py), under django-tenants' shared/tenant app rules.

django-tenants' router (next in DATABASE_ROUTERS, which django-tenants insists on) allows migrations
only on its tenant database alias, ``default``: the connection every request uses. With a separate
owner role configured, the same database is also reachable as ``owner``, and migrations must run
there instead, schema by schema; this router decides for that alias and leaves every other to it.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import connections
from django_tenants.utils import get_public_schema_name


class OwnerMigrationRouter:
    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints: Any) -> bool | None:
        if db == "default" or db != settings.DB_OWNER_ALIAS:
            return None
        connection: Any = connections[db]  # django-tenants' database wrapper knows its schema
        public = connection.schema_name == get_public_schema_name()
        installed = settings.SHARED_APPS if public else settings.TENANT_APPS
        config = apps.get_app_config(app_label)
        return config.name in installed or f"{config.__module__}.{type(config).__name__}" in installed
