"""One settings row per client schema (apps/core/singleton.py): ``one()`` creates it once, and the unique column
refuses a second row, so two first requests at once cannot make two (get_or_create then reads the winner's row)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import IntegrityError, transaction

from apps.agent.models import AgentSettings
from apps.knowledge.models import EmbeddingSettings
from apps.safety.models import SafetySettings

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("model", [AgentSettings, SafetySettings, EmbeddingSettings])
def test_one_row_per_schema_by_constraint(in_hartwell: Any, model: Any) -> None:
    model.objects.all().delete()
    assert model.objects.existing() is None
    first = model.objects.one()
    assert model.objects.one().pk == first.pk == model.objects.existing().pk
    with pytest.raises(IntegrityError), transaction.atomic():
        model.objects.create()  # what a concurrent first request would try: refused, not a second row
    assert model.objects.count() == 1


@pytest.mark.parametrize("model", [SafetySettings, EmbeddingSettings])
def test_one_reads_the_winners_row_when_another_request_created_it_meanwhile(
    in_hartwell: Any, model: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    winner = model.objects.one()
    # This request read "no row" just before the other one inserted it: its own insert must give way, not fail.
    monkeypatch.setattr(type(model.objects), "existing", lambda self: None)
    with transaction.atomic():  # inside a caller's transaction too, which an error would have broken
        assert model.objects.one().pk == winner.pk
        assert model.objects.count() == 1
