"""Onboarding a client with a template: the portal's form field and the one call after ``create_client``.

The template is checked when the form is (``TemplateChoiceField``), before any client exists, so a template that
no longer validates (a playbook it names was removed) stops the onboarding with the reason. Applying is one
transaction (apply.py): if it still fails, the new client stays plain and the message says so and why.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import structlog
from django import forms
from django.core.exceptions import ValidationError
from pydantic import ValidationError as PydanticError

from apps.onboarding.client_templates.apply import Change, apply
from apps.onboarding.client_templates.models import ClientTemplate, TemplateVersion
from apps.onboarding.client_templates.spec import TemplateSpec
from tenants.models import Client

log = structlog.get_logger(__name__)


def check_latest(template: ClientTemplate) -> TemplateVersion:
    """The template's latest version, still valid on this install, or ``ValidationError`` saying what to fix."""
    version = template.latest
    if version is None:
        raise ValidationError(f"The {template.name} template has no version yet: save it once.")
    try:
        TemplateSpec.model_validate(version.spec)
    except PydanticError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ValidationError(
            f"The {template.name} template no longer validates ({problems}): edit it first."
        ) from None
    return version


class TemplateChoiceField(forms.ModelChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("empty_label", "No template: set the client up by hand")
        kwargs.setdefault("label", "Onboarding template")
        kwargs.setdefault(
            "help_text", "Sets autonomy, compliance, playbooks, knowledge, widget and billing rules in one step."
        )
        super().__init__(queryset=ClientTemplate.objects.order_by("name"), to_field_name="key", **kwargs)

    def clean(self, value: Any) -> ClientTemplate | None:
        template = super().clean(value)
        if template is not None:
            check_latest(template)
        return template


@dataclass(frozen=True)
class Onboarded:
    applied: bool
    message: str
    changes: tuple[Change, ...] = ()


def apply_on_onboarding(*, client: Client, template: ClientTemplate | None, actor: Any) -> Onboarded:
    """Apply ``template``'s latest version to a client just created; what to tell the person who onboarded it."""
    if template is None:
        return Onboarded(False, "")
    try:
        version = check_latest(template)
        changes = apply(client=client, version=version, actor=actor)
    except Exception as exc:  # any failure rolled the whole template back: the client stays plain, and is told so
        log.warning("template_not_applied", client=client.slug, template=template.key, error=repr(exc))
        reason = "; ".join(getattr(exc, "messages", None) or [str(exc)])
        return Onboarded(
            False,
            f"The {template.name} template was not applied, nothing of it was set ({reason}). "
            "Fix it, then apply it from Onboarding templates.",
        )
    count = f"{len(changes)} setting{'s' if len(changes) != 1 else ''}"
    return Onboarded(True, f"{template.name} template v{version.number} applied: {count}.", tuple(changes))
