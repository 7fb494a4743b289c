"""Creating and editing templates: every edit that changes the YAML is a new version, audited in the install chain."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.db import transaction

from apps.auditlog.audit import actor_of, record_for_install
from apps.onboarding.client_templates.models import ClientTemplate, TemplateVersion
from apps.onboarding.client_templates.spec import changed_sections, parse


@transaction.atomic
def create_template(*, key: str, yaml_text: str, actor: Any, builtin: bool = False) -> ClientTemplate:
    """A new template with its version 1; ``TemplateInvalid`` or ``ValidationError`` say what to fix."""
    key = key.strip().lower()
    try:
        validate_slug(key)
    except ValidationError:
        raise ValidationError({"key": "Use lowercase letters, digits and hyphens, e.g. dental-office."}) from None
    spec = parse(yaml_text)
    if ClientTemplate.objects.filter(key=key).exists():
        raise ValidationError({"key": f"A template named {key!r} exists already: edit it or pick another key."})
    template = ClientTemplate.objects.create(key=key, name=spec.name, description=spec.description, builtin=builtin)
    _add_version(template, yaml_text, spec.model_dump(mode="json"), None, actor)
    return template


@transaction.atomic
def save_version(*, template: ClientTemplate, yaml_text: str, actor: Any) -> TemplateVersion | None:
    """A new version when ``yaml_text`` validates and differs from the latest one; None when nothing changed."""
    spec = parse(yaml_text)
    template = ClientTemplate.objects.select_for_update().get(pk=template.pk)  # numbers never collide
    latest = template.latest
    if latest is not None and latest.yaml.strip() == yaml_text.strip():
        return None
    template.name, template.description = spec.name, spec.description
    template.save(update_fields=["name", "description"])
    return _add_version(template, yaml_text, spec.model_dump(mode="json"), latest, actor)


def _add_version(
    template: ClientTemplate, yaml_text: str, spec: dict[str, Any], before: TemplateVersion | None, actor: Any
) -> TemplateVersion:
    changed = changed_sections(before.spec if before else None, spec)
    version = TemplateVersion.objects.create(
        template=template,
        number=(before.number + 1) if before else 1,
        yaml=yaml_text,
        spec=spec,
        changed=changed,
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    record_for_install(
        event="template.version_saved",
        payload={"template": template.key, "version": version.number, "changed": changed},
        **actor_of(actor),
    )
    return version


@dataclass(frozen=True)
class DiffLine:
    kind: str  # "add" | "remove" | "context" | "hunk"
    text: str


def diff(before: TemplateVersion | None, after: TemplateVersion) -> list[DiffLine]:
    """The version's YAML against the one before it, line by line (a unified diff)."""
    old = before.yaml.splitlines() if before else []
    lines = difflib.unified_diff(old, after.yaml.splitlines(), lineterm="", n=3)
    out = []
    for line in lines:
        if line.startswith(("---", "+++")):
            continue
        kind = {"@": "hunk", "+": "add", "-": "remove"}.get(line[:1], "context")
        out.append(DiffLine(kind, line))
    return out
