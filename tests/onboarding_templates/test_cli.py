"""``gaby create-client --template`` and ``gaby apply-template``, run as an operator runs them."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from apps.onboarding.client_templates.models import ClientTemplateUse
from tenants.models import Client

pytestmark = pytest.mark.django_db


def gaby(*args: str) -> str:
    out = StringIO()
    call_command("gaby", *args, stdout=out)
    return out.getvalue()


def test_create_client_with_a_template(world: Any) -> None:
    out = gaby("create-client", "Pine Dental", "--slug", "pinedental", "--template", "dental-office")
    assert "Created Pine Dental" in out and "Dental office template v1 applied:" in out
    assert "compliance_profile: standard -> hipaa" in out
    client = Client.objects.get(slug="pinedental")
    assert ClientTemplateUse.objects.get(client=client).version.template.key == "dental-office"


def test_an_unknown_template_names_the_ones_there_are_and_creates_nothing(world: Any) -> None:
    with pytest.raises(CommandError, match=r"No onboarding template 'dentist'; the templates are: accounting-firm"):
        gaby("create-client", "Pine Dental", "--slug", "pinedental", "--template", "dentist")
    assert not Client.objects.filter(slug="pinedental").exists()


def test_apply_template_shows_the_changes_before_it_applies(world: Any) -> None:
    preview = gaby("apply-template", "--client", "dearborn", "--template", "accounting-firm")
    assert "would change:" in preview and "compliance_profile: standard -> soc2" in preview and "--yes" in preview
    dearborn = Client.objects.get(slug="dearborn")
    assert dearborn.compliance_profile == "standard"
    applied = gaby("apply-template", "--client", "dearborn", "--template", "accounting-firm", "--yes")
    assert "Accounting firm v1 applied to Dearborn CPA" in applied
    dearborn.refresh_from_db()
    assert dearborn.compliance_profile == "soc2"
    assert "law-firm" in gaby("templates")
