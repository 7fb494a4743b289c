"""``manage.py gaby ingest PATH --client SLUG``: indexes a folder; a second run embeds nothing."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django_tenants.utils import tenant_context

from apps.knowledge.models import Chunk, KnowledgeSource

pytestmark = pytest.mark.django_db


def _ingest(*args: str) -> str:
    out = io.StringIO()
    call_command("gaby", "ingest", *args, stdout=out)
    return out.getvalue()


def test_ingest_indexes_a_folder_and_a_second_run_embeds_nothing(
    hartwell: Any, dearborn: Any, runbooks: Path, provider: Any
) -> None:
    first = _ingest(str(runbooks), "--client", "hartwell")
    assert f"Indexing {runbooks} into Hartwell Law" in first
    assert "[##############################] 4/4 documents" in first
    assert "4 documents: 4 added" in first
    texts = provider.texts_embedded
    second = _ingest(str(runbooks), "--client", "hartwell")
    assert "4 unchanged" in second and "0 chunks embedded" in second
    assert provider.texts_embedded == texts
    with tenant_context(hartwell):
        assert KnowledgeSource.objects.count() == 1 and Chunk.objects.count() > 0
    with tenant_context(dearborn):
        assert not Chunk.objects.exists()


def test_ingest_explains_bad_arguments(hartwell: Any, runbooks: Path) -> None:
    with pytest.raises(CommandError, match="No client with slug 'nope'"):
        _ingest(str(runbooks), "--client", "nope")
    with pytest.raises(CommandError, match="is not a directory"):
        _ingest(str(runbooks / "missing"), "--client", "hartwell")
