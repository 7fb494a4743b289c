"""In a real browser: "Sync now" streams live progress over the websocket; the search playground explains hits."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django_tenants.utils import tenant_context

from tests.browser.test_shell import SHOTS, _sign_in
from tests.knowledge.conftest import RUNBOOKS, write_tree

pytestmark = [pytest.mark.browser, pytest.mark.django_db]


@pytest.fixture(scope="module")
def committed_source(world: Any, django_db_blocker: Any, tmp_path_factory: Any) -> Iterator[Any]:
    from apps.knowledge.embeddings import provider_for
    from apps.knowledge.models import EmbeddingCacheEntry, KnowledgeSource, SourceKind

    provider_for("local").embed(["warm up"])  # load the model before the worker needs it
    root = write_tree(Path(tmp_path_factory.mktemp("browser")) / "runbooks", RUNBOOKS)
    with django_db_blocker.unblock(), tenant_context(world.clients["hartwell"]):
        source = KnowledgeSource.objects.create(
            kind=SourceKind.DIRECTORY, name="Browser runbooks", config={"path": str(root)}
        )
    yield source
    with django_db_blocker.unblock(), tenant_context(world.clients["hartwell"]):
        source.delete()
        EmbeddingCacheEntry.objects.all().delete()


def test_sync_now_shows_live_progress_then_search_explains_hits(
    asgi_server: str, page_factory: Any, committed_source: Any, celery_worker: Any
) -> None:
    page = page_factory()
    base = asgi_server.format(host="hartwell.localhost")
    _sign_in(page, base + "/knowledge/", "bob@hartwell.example")
    page.wait_for_selector("[data-testid=live-status][data-state=open]")
    status = f"#source-status-{committed_source.pk}"
    assert "Never synced" in page.inner_text(status)

    page.click("[data-testid=sync-browser-runbooks]")
    # The worker's progress arrives over the websocket and replaces the status cell, without a reload.
    page.wait_for_function(
        "sel => document.querySelector(sel) && document.querySelector(sel).innerText.includes('Up to date')",
        arg=status,
        timeout=120000,
    )
    assert "chunks embedded" in page.inner_text(status)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "knowledge-sources.png"))

    page.click("[data-testid=kb-tab-search]")
    page.fill("input[name=q]", "how do I reset a user's VPN password")
    page.click("[data-testid=search-submit]")
    # The first search loads the embedding model in the server process: slow on a busy machine.
    page.wait_for_selector("[data-testid=hit-1]", timeout=90000)
    first = page.inner_text("[data-testid=hit-1]")
    assert "VPN runbook" in first and "Reset a user's VPN password" in first
    why = page.inner_text("[data-testid=hit-why-1]")
    assert "reset" in why and "Fused score" in why and "similarity" in why
    page.screenshot(path=str(SHOTS / "knowledge-search.png"), full_page=True)
