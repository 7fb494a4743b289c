"""Beat's refresh of the attention queue's items from every client's schema (apps/portal/snapshot.py)."""

from __future__ import annotations

from celery import shared_task

from apps.portal import snapshot


@shared_task(name="portal.refresh_attention", ignore_result=True)
def refresh_attention() -> int:
    return snapshot.refresh()
