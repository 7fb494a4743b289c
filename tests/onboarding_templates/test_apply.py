"""Onboarding a client with a template, through the real path: a migrated schema, real services, both audit chains,
the knowledge worker's half indexing the bundle, and retrieval finding its pages."""

from __future__ import annotations

from typing import Any

import pytest
from django_tenants.utils import tenant_context

from apps.agent.playbooks.library import catalog
from apps.auditlog.models import AuditEvent
from apps.billing.models import BillingRule
from apps.chat.models import Widget
from apps.connectors.models import Connector
from apps.knowledge.models import KnowledgeSource, SyncStatus
from apps.knowledge.retrieval import search
from apps.knowledge.services import run_queued_sync
from apps.onboarding import checklist
from apps.onboarding.client_templates.models import ClientTemplateUse
from apps.onboarding.client_templates.onboard import apply_on_onboarding
from apps.onboarding.client_templates.spec import TemplateSpec
from apps.onboarding.client_templates.versions import save_version

pytestmark = pytest.mark.django_db

# A question each bundle answers, and the page that answers it.
ASKED = {
    "law-firm": ("document is checked out by another user", "Document management (DMS)"),
    "accounting-firm": ("tax software says data location not available", "Tax software"),
    "dental-office": ("intraoral sensor is not detected", "Imaging and operatory computers"),
}


@pytest.mark.parametrize("key", ["law-firm", "accounting-firm", "dental-office"])
def test_onboarding_with_a_builtin_template_yields_the_configured_client(
    key: str, template: Any, new_client: Any, world: Any
) -> None:
    chosen = template(key)
    spec = TemplateSpec.model_validate(chosen.latest.spec)
    client = new_client(f"t{key.replace('-', '')[:12]}")
    onboarded = apply_on_onboarding(client=client, template=chosen, actor=world.people["mona"])
    assert onboarded.applied, onboarded.message
    assert onboarded.message.startswith(f"{spec.name} template v1 applied:")

    client.refresh_from_db()
    assert (client.autonomy, client.approval_threshold, client.compliance_profile) == (
        spec.autonomy,
        spec.approval_threshold,
        spec.compliance_profile,
    )
    assert ClientTemplateUse.objects.get(client=client).version == chosen.latest
    with tenant_context(client):
        active = {playbook.name for playbook in catalog().active}
        assert active == set(spec.playbooks)  # exactly the listed ones

        rule = BillingRule.objects.get(source__isnull=True)
        assert spec.billing is not None
        assert (rule.minimum_minutes, rule.rounding_minutes, rule.work_type) == (
            spec.billing.minimum_minutes,
            spec.billing.rounding_minutes,
            spec.billing.work_type,
        )
        assert spec.widget is not None
        widget = Widget.objects.get(name=spec.widget.name)
        assert widget.greeting == spec.widget.greeting and widget.business_hours == spec.widget.business_hours
        assert not widget.enabled and widget.allowed_origins == []  # off until the client's site is added

        source = KnowledgeSource.objects.get(name=f"{spec.name} knowledge (template)")
        assert source.status == SyncStatus.QUEUED  # the worker indexes it after the commit
        report = run_queued_sync(source_id=source.pk)  # the worker's half
        assert report is not None and (report.added, report.failed) == (3, 0)
        question, page = ASKED[key]
        hits = search(question, limit=3, record_usage=False).hits
        assert hits and hits[0].citation.document_title == page

        steps = {step.key: step for step in checklist.steps(client)}
        for kind in spec.connectors:
            step = steps[f"connect-{kind}"]
            assert step.title.endswith(f"(from the {spec.name} template)") and not step.done

        applied = AuditEvent.objects.get(event="template.applied")
        assert applied.payload["template"] == key and applied.payload["version"] == 1
        assert applied.actor_id == str(world.people["mona"].pk)
        assert AuditEvent.objects.filter(event="client.settings_changed").exists()
    assert AuditEvent.objects.filter(event="template.applied", payload__client=client.slug).count() == 1  # install


def test_a_connector_step_is_done_once_such_a_connector_exists(template: Any, new_client: Any, world: Any) -> None:
    client = new_client("tstepdone")
    apply_on_onboarding(client=client, template=template("law-firm"), actor=world.people["mona"])
    with tenant_context(client):
        Connector.objects.create(kind="ninjaone", name="NinjaOne", transport="stdio")
        steps = {step.key: step for step in checklist.steps(client)}
    assert steps["connect-ninjaone"].done and steps["connect-ninjaone"].state == "Connected."
    assert not steps["connect-microsoft365"].done
    assert (
        steps["connect-microsoft365"].title == "Connect Microsoft 365 (Entra ID, Intune) (from the Law firm template)"
    )


def test_an_edit_is_a_new_version_and_a_client_keeps_its_own(template: Any, new_client: Any, world: Any) -> None:
    law = template("law-firm")
    client = new_client("tversions")
    apply_on_onboarding(client=client, template=law, actor=world.people["mona"])
    edited = law.latest.yaml.replace("approval_threshold: 40", "approval_threshold: 25")
    version = save_version(template=law, yaml_text=edited, actor=world.people["mona"])
    assert version is not None and version.number == 2 and version.changed == ["approval_threshold"]
    assert version.created_by == world.people["mona"]
    assert save_version(template=law, yaml_text=edited, actor=world.people["mona"]) is None  # nothing changed
    assert ClientTemplateUse.objects.get(client=client).version.number == 1
    client.refresh_from_db()
    assert client.approval_threshold == 40


def test_a_template_that_fails_sets_nothing_and_says_why(
    template: Any, new_client: Any, world: Any, tmp_path: Any
) -> None:
    """The knowledge source's name is taken (by a different folder), after safety and playbooks were already set in
    the transaction: all of it is rolled back, the client stays as created, and the message says what happened."""
    from apps.knowledge.services import create_source

    client = new_client("tfails")
    with tenant_context(client):
        create_source(
            kind="directory", name="Law firm knowledge (template)", config={"path": str(tmp_path)}, server_paths=True
        )
    onboarded = apply_on_onboarding(client=client, template=template("law-firm"), actor=world.people["mona"])
    assert not onboarded.applied
    assert "The Law firm template was not applied, nothing of it was set" in onboarded.message
    assert "exists already" in onboarded.message
    client.refresh_from_db()
    assert (client.autonomy, client.approval_threshold) == ("investigate", 50)
    assert not ClientTemplateUse.objects.filter(client=client).exists()
    with tenant_context(client):
        assert all(entry.enabled for entry in catalog().entries)
        assert not BillingRule.objects.exists() and not Widget.objects.exists()
        assert not AuditEvent.objects.filter(event__in=["template.applied", "client.settings_changed"]).exists()
