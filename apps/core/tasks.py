"""Queue a Celery task by its registered name, so a service never imports the tasks module that calls it back.

Every task is declared with ``shared_task(name="<app>.<verb>")`` in its app's ``tasks.py``; services call
``enqueue("<app>.<verb>", *args, task_id=...)``. The task's own ``apply_async`` sends it, so the client's schema
travels with it (tenant-schemas-celery) and ``task_always_eager`` still runs it in place.
"""

from __future__ import annotations

from typing import Any

from celery import current_app
from celery.result import AsyncResult


def enqueue(name: str, *args: Any, **options: Any) -> AsyncResult:
    """Send the task registered as ``name`` with positional ``args``; ``options`` are ``apply_async``'s
    (``task_id``, ``kwargs``, ``countdown``...)."""
    tasks = current_app.tasks
    if name not in tasks:  # a web process has not imported the apps' tasks modules yet: Celery's autodiscovery does
        current_app.loader.import_default_modules()
    return tasks[name].apply_async(args=args, **options)
