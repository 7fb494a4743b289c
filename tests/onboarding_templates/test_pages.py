"""The portal's template pages (MSP staff only) and the "Onboard a client" form with a template."""

from __future__ import annotations

from typing import Any

import pytest
from django_tenants.utils import tenant_context

from apps.auditlog.models import AuditEvent
from apps.onboarding.client_templates.models import ClientTemplate, ClientTemplateUse
from apps.onboarding.client_templates.onboard import apply_on_onboarding
from tenants.models import Client

pytestmark = pytest.mark.django_db


def test_the_portal_onboards_a_client_with_a_template(as_user: Any) -> None:
    mona = as_user("mona", "public")
    form = mona.get("/").content.decode()
    assert 'name="template"' in form and ">Dental office</option>" in form
    response = mona.post(
        "/clients/new/",
        {"name": "Osprey Dental", "slug": "osprey", "template": "dental-office"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "Osprey Dental is ready" in body and "Dental office template v1 applied:" in body
    client = Client.objects.get(slug="osprey")
    assert client.compliance_profile == "hipaa" and client.autonomy == "investigate"
    assert ClientTemplateUse.objects.get(client=client).version.template.key == "dental-office"


def test_an_unknown_template_stops_the_onboarding_before_any_client_exists(as_user: Any) -> None:
    response = as_user("mona", "public").post("/clients/new/", {"name": "X", "slug": "xray", "template": "circus"})
    assert response.status_code == 400
    assert b"Select a valid choice" in response.content
    assert not Client.objects.filter(slug="xray").exists()


def test_staff_edit_a_template_and_see_the_new_version_with_its_diff(as_user: Any) -> None:
    mona = as_user("mona", "public")
    page = mona.get("/templates/")
    assert page.status_code == 200
    body = page.content.decode()
    assert all(f'data-testid="template-{key}"' in body for key in ("law-firm", "accounting-firm", "dental-office"))
    law = ClientTemplate.objects.get(key="law-firm")
    edited = law.latest.yaml.replace("rounding_minutes: 6", "rounding_minutes: 15")
    saved = mona.post("/templates/law-firm/", {"yaml": edited})
    assert saved.status_code == 302
    assert law.latest.number == 2 and law.latest.changed == ["billing"]
    version = mona.get("/templates/law-firm/versions/2/").content.decode()
    assert "-  rounding_minutes: 6" in version and "+  rounding_minutes: 15" in version
    history = mona.get("/templates/law-firm/").content.decode()
    assert 'data-testid="version-2"' in history and "mona@bluemesa.example" in history
    assert AuditEvent.objects.filter(event="template.version_saved", payload__version=2).exists()


def test_a_bad_edit_is_refused_with_every_problem_and_no_version(as_user: Any) -> None:
    law = ClientTemplate.objects.get(key="law-firm")
    broken = law.latest.yaml.replace("autonomy: review", "autonomy: yolo").replace("- ninjaone\n", "- telex\n")
    response = as_user("mona", "public").post("/templates/law-firm/", {"yaml": broken})
    assert response.status_code == 400
    body = response.content.decode()
    assert "autonomy: Input should be" in body and "connectors: no connector kind &#x27;telex&#x27;" in body
    assert law.latest.number == 1


def test_a_new_template_is_created_at_version_1(as_user: Any) -> None:
    yaml_text = "name: Architecture studio\nautonomy: review\nplaybooks: [m365-sign-in-help]\n"
    response = as_user("mona", "public").post("/templates/", {"key": "architecture", "yaml": yaml_text})
    assert response.status_code == 302
    created = ClientTemplate.objects.get(key="architecture")
    assert created.name == "Architecture studio" and created.latest.number == 1 and not created.builtin
    again = as_user("mona", "public").post("/templates/", {"key": "architecture", "yaml": yaml_text})
    assert again.status_code == 400 and b"exists already" in again.content


def test_reapplying_a_newer_version_shows_what_changes_first(as_user: Any, world: Any, new_client: Any) -> None:
    mona = as_user("mona", "public")
    client = new_client("treapply")
    law = ClientTemplate.objects.get(key="law-firm")
    apply_on_onboarding(client=client, template=law, actor=world.people["mona"])
    edited = law.latest.yaml.replace("approval_threshold: 40", "approval_threshold: 20").replace(
        "  - ninjaone-print-spooler\n", ""
    )
    assert mona.post("/templates/law-firm/", {"yaml": edited}).status_code == 302
    detail = mona.get("/templates/law-firm/").content.decode()
    assert 'data-testid="reapply-treapply"' in detail
    preview = mona.get("/templates/law-firm/apply/", {"client": "treapply"}).content.decode()
    assert "approval_threshold" in preview and "ninjaone-print-spooler" in preview
    client.refresh_from_db()
    assert client.approval_threshold == 40  # a preview changes nothing
    assert mona.post("/templates/law-firm/apply/", {"client": "treapply"}).status_code == 302
    client.refresh_from_db()
    assert client.approval_threshold == 20
    assert ClientTemplateUse.objects.get(client=client).version.number == 2
    with tenant_context(client):
        latest = AuditEvent.objects.filter(event="template.applied").order_by("-sequence").first()
    assert latest is not None and latest.payload["version"] == 2 and latest.payload["previous"] == "law-firm v1"
    assert {"section": "Playbooks", "what": "ninjaone-print-spooler", "before": "on", "after": "off"} in latest.payload[
        "changes"
    ]
    again = mona.get("/templates/law-firm/apply/", {"client": "treapply"}).content.decode()
    assert 'data-testid="no-changes"' in again


@pytest.mark.parametrize("path", ["/templates/", "/templates/law-firm/", "/templates/law-firm/versions/1/"])
def test_only_msp_staff_reach_the_templates(as_user: Any, path: str) -> None:
    assert as_user("alice", "public").get(path).status_code == 403
    assert as_user("mona", "public").get(path).status_code == 200
    assert as_user("alice", "public").post("/templates/law-firm/apply/", {"client": "hartwell"}).status_code == 403
