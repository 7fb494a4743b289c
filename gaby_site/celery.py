"""Celery, tenant-aware: a task sent inside a client's schema runs inside that schema on the worker."""

from __future__ import annotations

import os
from typing import Any

import structlog
from celery.signals import setup_logging, task_postrun, task_prerun
from tenant_schemas_celery.app import CeleryApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gaby_site.settings")

app = CeleryApp("gaby")
# Celery's current app is per thread: a thread the web process starts (Bolt's listeners, the chat's pools) would
# otherwise get Celery's empty default app, and ``enqueue`` by name would find no task there.
app.set_default()
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@setup_logging.connect
def _use_django_logging(**_: Any) -> None:
    """Keep Celery from replacing the structured logging configured by settings."""
    import logging.config

    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)


@task_prerun.connect
def _bind_task_context(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    from django.db import connection

    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(
        task_id=task_id, task=getattr(task, "name", None), client=getattr(connection, "schema_name", None)
    )


@task_postrun.connect
def _clear_task_context(**_: Any) -> None:
    structlog.contextvars.clear_contextvars()
