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
