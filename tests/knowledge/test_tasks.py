"""Sync as a tenant-aware Celery task on the real worker and Redis, with live progress over the websocket."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.db import connections
from django_tenants.utils import tenant_context

from apps.knowledge.models import Chunk, EmbeddingCacheEntry, KnowledgeSource, SourceKind, SyncStatus
from apps.knowledge.tasks import housekeeping, sync_source_task
from tests.knowledge.conftest import RUNBOOKS, write_tree
from tests.test_websockets import _communicator


@pytest.fixture(scope="module")
def committed_source(world: Any, django_db_blocker: Any, tmp_path_factory: Any, provider: Any) -> Iterator[Any]:
    """A Hartwell source committed to the database, so the worker's own connection sees it."""
    # Load the model up front: loading holds the GIL for seconds, which would starve the sockets' event loop.
    provider.embed(["warm up"])
    root = write_tree(Path(tmp_path_factory.mktemp("task")) / "runbooks", RUNBOOKS)
    with django_db_blocker.unblock(), tenant_context(world.clients["hartwell"]):
        source = KnowledgeSource.objects.create(
            kind=SourceKind.DIRECTORY, name="Task runbooks", config={"path": str(root)}
        )
    yield source
    with django_db_blocker.unblock(), tenant_context(world.clients["hartwell"]):
        source.delete()
        EmbeddingCacheEntry.objects.all().delete()


@pytest.fixture(autouse=True)
async def _close_consumer_connections() -> Any:
    yield
    await database_sync_to_async(connections.close_all)()


def committed(func: Any) -> Any:
    """Run ``func`` on another thread's connection (autocommit), outside the test's transaction."""

    def run() -> Any:
        try:
            return func()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(run).result()


def _queue(source: Any, world: Any, **changes: Any) -> None:
    def update() -> None:
        with tenant_context(world.clients["hartwell"]):
            KnowledgeSource.objects.filter(pk=source.pk).update(status=SyncStatus.QUEUED, **changes)

    committed(update)


def _run_task(source: Any, world: Any) -> Any:
    with tenant_context(world.clients["hartwell"]):
        return sync_source_task.delay(str(source.pk)).get(timeout=180)


@pytest.mark.django_db
async def test_sync_task_runs_in_the_clients_schema_and_streams_progress(
    world: Any, celery_worker: Any, committed_source: Any
) -> None:
    alice = _communicator("hartwell.localhost", world.sessions["alice"])
    carol = _communicator("dearborn.localhost", world.sessions["carol"])
    assert (await alice.connect())[0] and (await carol.connect())[0]
    await alice.receive_json_from()
    await carol.receive_json_from()

    await sync_to_async(_queue)(committed_source, world)
    result = await sync_to_async(_run_task)(committed_source, world)

    assert result["status"] == "ok" and result["added"] == 4 and result["chunks_embedded"] > 0
    swaps = []
    while not await alice.receive_nothing(timeout=0.5):
        swaps.append(await alice.receive_json_from())
    target = f"#source-status-{committed_source.pk}"
    assert swaps and all(s["type"] == "swap" and s["target"] == target for s in swaps)
    assert "Syncing" in swaps[0]["html"] and "Up to date" in swaps[-1]["html"]
    assert await carol.receive_nothing(timeout=0.3)  # Dearborn's operators see nothing of it
    await alice.disconnect()
    await carol.disconnect()

    def check() -> None:
        with tenant_context(world.clients["hartwell"]):
            source = KnowledgeSource.objects.get(pk=committed_source.pk)
            assert source.status == SyncStatus.OK and source.progress_done == source.progress_total == 4
            assert Chunk.objects.filter(source=source).exists()
        with tenant_context(world.clients["dearborn"]):
            assert not Chunk.objects.exists()

    await sync_to_async(check)()


@pytest.mark.django_db
def test_a_task_for_a_source_not_queued_does_nothing(world: Any, celery_worker: Any, committed_source: Any) -> None:
    # Nobody queued it (or another worker claimed it first): the conditional UPDATE claims nothing.
    assert _run_task(committed_source, world) is None
    # A queued source is claimed once; an unchanged source embeds nothing on its second sync.
    _queue(committed_source, world)
    second = _run_task(committed_source, world)
    assert second["status"] == "ok" and second["chunks_embedded"] == 0 and second["unchanged"] == 4


@pytest.mark.django_db
def test_housekeeping_queues_due_sources_in_every_client(world: Any, celery_worker: Any, committed_source: Any) -> None:
    def status() -> str:
        with tenant_context(world.clients["hartwell"]):
            return str(KnowledgeSource.objects.get(pk=committed_source.pk).status)

    def make_due() -> None:
        with tenant_context(world.clients["hartwell"]):
            KnowledgeSource.objects.filter(pk=committed_source.pk).update(
                status=SyncStatus.OK, schedule_minutes=5, last_sync_at=None
            )

    committed(make_due)
    result = housekeeping.delay().get(timeout=60)
    assert result["queued"] == 1  # only the due source, in Hartwell; Dearborn has none
    deadline = time.monotonic() + 120
    while committed(status) != SyncStatus.OK and time.monotonic() < deadline:  # the queued sync ran on the worker
        time.sleep(0.2)
    assert committed(status) == SyncStatus.OK
