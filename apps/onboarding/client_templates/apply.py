"""Applying a template version to a client in one step (MSP-8), and what applying it would change.

All or nothing: every setting is written in one database transaction (the client row, its schema's rows and
both audit chains share one connection), so a failure leaves the client exactly as it was, and the error says
which setting failed. The client itself is created before (its schema's DDL cannot be rolled back), so an
onboarding whose template fails leaves a plain client, never a half-configured one; the template page offers
applying again.

Connectors are not connected here: they need the client's own credentials. The first-run checklist lists them
(``checklist_steps``) until a connector of that kind exists.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from django.db import transaction
from django_tenants.utils import tenant_context

from apps.agent.playbooks.library import catalog
from apps.agent.playbooks.services import set_enabled
from apps.auditlog.audit import actor_of, record, record_for_install
from apps.billing.models import BillingRule
from apps.billing.services import save_rule
from apps.chat.models import Widget
from apps.chat.widgets import create_widget, update_widget
from apps.connectors.models import Connector
from apps.connectors.models import Kind as ConnectorKind
from apps.knowledge.models import KnowledgeSource
from apps.knowledge.services import directory_source_for, request_sync
from apps.onboarding.client_templates.models import ClientTemplateUse, TemplateVersion
from apps.onboarding.client_templates.spec import TemplateSpec, bundle_path
from tenants.models import Client
from tenants.services import update_client_settings

SAFETY = ("autonomy", "approval_threshold", "compliance_profile")
WIDGET = ("greeting", "persona_name", "theme", "business_hours", "identity_mode")


@dataclass(frozen=True)
class Change:
    section: str
    what: str
    before: str
    after: str


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items()) or "none"
    return str(value) if value not in ("", None) else "none"


def _playbook_switches(spec: TemplateSpec) -> list[tuple[str, bool, bool]]:
    """(name, now, wanted) of each shipped playbook whose switch differs; the client's own playbooks stay as set."""
    wanted = set(spec.playbooks)
    return [
        (entry.name, entry.enabled, entry.name in wanted)
        for entry in catalog().entries
        if entry.origin != "client" and entry.enabled != (entry.name in wanted)
    ]


def _bundle_source(spec: TemplateSpec) -> KnowledgeSource | None:
    path = str(bundle_path(spec.knowledge_bundle).resolve())
    return KnowledgeSource.objects.filter(config__path=path).first()


def _plan_in_schema(client: Client, spec: TemplateSpec, previous: TemplateSpec | None) -> list[Change]:
    changes = [
        Change("Safety", field, _show(getattr(client, field)), _show(getattr(spec, field)))
        for field in SAFETY
        if getattr(client, field) != getattr(spec, field)
    ]
    changes += [Change("Playbooks", name, _show(now), _show(wanted)) for name, now, wanted in _playbook_switches(spec)]
    if spec.knowledge_bundle and _bundle_source(spec) is None:
        pages = len(list(bundle_path(spec.knowledge_bundle).glob("*.md")))
        changes.append(Change("Knowledge", f"bundle {spec.knowledge_bundle}", "none", f"imported ({pages} pages)"))
    if spec.widget:
        widget = Widget.objects.filter(name=spec.widget.name).first()
        if widget is None:
            changes.append(Change("Widget", spec.widget.name, "none", "created, off until its site is added"))
        else:
            changes += [
                Change("Widget", field, _show(getattr(widget, field)), _show(getattr(spec.widget, field)))
                for field in WIDGET
                if getattr(widget, field) != getattr(spec.widget, field)
            ]
    if spec.billing:
        rule = BillingRule.objects.filter(source__isnull=True).first()
        for field, value in spec.billing.model_dump().items():
            now = getattr(rule, field) if rule else None
            if now != value:
                changes.append(Change("Billing rules", field, _show(now), _show(value)))
    before = set(previous.connectors if previous else ())
    for kind in spec.connectors:
        if kind not in before:
            changes.append(Change("Checklist", f"Connect {ConnectorKind(kind).label}", "none", "added"))
    for kind in sorted(before - set(spec.connectors)):
        changes.append(Change("Checklist", f"Connect {ConnectorKind(kind).label}", "listed", "removed"))
    return changes


def _previous(client: Client) -> tuple[ClientTemplateUse | None, TemplateSpec | None]:
    use = ClientTemplateUse.objects.filter(client=client).select_related("version__template").first()
    return use, (TemplateSpec.model_validate(use.version.spec) if use else None)


def plan(*, client: Client, version: TemplateVersion) -> list[Change]:
    """What applying ``version`` would change in ``client`` now; nothing is written."""
    spec = TemplateSpec.model_validate(version.spec)  # re-checked: a playbook or bundle may have gone since
    _use, previous = _previous(client)
    with tenant_context(client):
        return _plan_in_schema(client, spec, previous)


def apply(*, client: Client, version: TemplateVersion, actor: Any) -> list[Change]:
    """Set everything ``version`` says in ``client`` in one transaction, audited in both chains; the changes made."""
    spec = TemplateSpec.model_validate(version.spec)
    template = version.template
    user = actor if getattr(actor, "pk", None) else None
    with transaction.atomic():
        client = Client.objects.select_for_update().get(pk=client.pk)  # two applies to one client queue up
        use, previous = _previous(client)
        with tenant_context(client):
            changes = _plan_in_schema(client, spec, previous)
            update_client_settings(client=client, changes={f: getattr(spec, f) for f in SAFETY}, actor=user)
            for name, _now, wanted in _playbook_switches(spec):
                set_enabled(name=name, enabled=wanted, actor=user)
            if spec.knowledge_bundle:
                folder = bundle_path(spec.knowledge_bundle)
                source = directory_source_for(path=folder, name=f"{spec.name} knowledge (template)")
                request_sync(source=source)  # the worker indexes it once this transaction commits
            if spec.widget:
                _save_widget(client, spec, user)
            if spec.billing:
                save_rule(source=None, changes=spec.billing.model_dump(), actor=user)
            facts = {
                "template": template.key,
                "version": version.number,
                "previous": f"{use.version.template.key} v{use.version.number}" if use else None,
                "changes": [asdict(change) for change in changes],
            }
            record(event="template.applied", payload=facts, **actor_of(actor))
        ClientTemplateUse.objects.update_or_create(client=client, defaults={"version": version, "applied_by": user})
        record_for_install(
            event="template.applied",
            payload={"client": client.slug, "template": template.key, "version": version.number},
            **actor_of(actor),
        )
    return changes


def _save_widget(client: Client, spec: TemplateSpec, actor: Any) -> None:
    assert spec.widget is not None
    look = spec.widget.model_dump()
    widget = Widget.objects.filter(name=spec.widget.name).first()
    if widget is None:
        # Off until the client's Admin adds the site it runs on: the template cannot know the client's website.
        create_widget(client=client, changes={**look, "enabled": False, "allowed_origins": []}, actor=actor)
    else:
        update_widget(widget=widget, changes={k: v for k, v in look.items() if k != "name"}, actor=actor)


@dataclass(frozen=True)
class ConnectorStep:
    kind: str
    title: str
    done: bool


def checklist_steps(client: Client) -> list[ConnectorStep]:
    """The connectors the client's template asks for, each done once a connector of that kind exists (in schema)."""
    use = ClientTemplateUse.objects.filter(client=client).select_related("version__template").first()
    if use is None:
        return []
    kinds = list(use.version.spec.get("connectors") or [])
    present = set(Connector.objects.filter(kind__in=kinds).values_list("kind", flat=True))
    template = use.version.spec.get("name") or use.version.template.name
    return [
        ConnectorStep(kind, f"Connect {ConnectorKind(kind).label} (from the {template} template)", kind in present)
        for kind in kinds
    ]
