"""Beat's heartbeat, run by a worker: its Redis key being fresh proves beat, the broker and a worker all move."""

from __future__ import annotations

from celery import shared_task

from apps.observability.heartbeat import write_beat_beat


@shared_task(name="observability.beat_heartbeat", ignore_result=True)
def beat_heartbeat() -> None:
    write_beat_beat()
