"""What an onboarding template says, read from its YAML and validated in one pass (pydantic).

A template that does not validate raises ``TemplateInvalid`` listing every problem with the setting it is in
("playbooks[1]: no shipped playbook named ..."), so MSP staff fix them all at once. Names are checked against
what this install really has: shipped playbooks, knowledge bundles on disk, connector kinds, compliance profiles.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from django.core.exceptions import ValidationError
from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic import ValidationError as PydanticError

from apps.agent.playbooks.library import shipped
from apps.billing.rules import check_note_template
from apps.chat.models import IdentityMode
from apps.chat.widgets import clean_hours, clean_theme
from apps.connectors.models import Kind as ConnectorKind
from apps.core.compliance import ProfileName
from tenants.models import Autonomy

BUNDLES_DIR = Path(__file__).with_name("bundles")
MAX_YAML = 64_000
SECTIONS = ("name", "description", "autonomy", "approval_threshold", "compliance_profile", "playbooks",
            "knowledge_bundle", "widget", "billing", "connectors")  # fmt: skip
DEFAULT_NOTE = "{{ worker }}: {{ kind }} on ticket {{ ticket.external_id }} ({{ minutes }} min worked)"


class TemplateInvalid(ValueError):
    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


def bundles() -> list[str]:
    """The knowledge bundles this install ships: one folder of Markdown pages each."""
    return sorted(path.name for path in BUNDLES_DIR.iterdir() if path.is_dir() and any(path.glob("*.md")))


def bundle_path(name: str) -> Path:
    return BUNDLES_DIR / name


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WidgetSpec(_Strict):
    """How the client's chat widget looks and behaves; its sites (allowed origins) are the client's, set later."""

    name: str = Field("Help", min_length=1, max_length=100)
    greeting: str = Field("Hi! How can I help?", min_length=1, max_length=500)
    persona_name: str = Field("Gaby", min_length=1, max_length=60)
    theme: dict[str, str] = Field(default_factory=dict)
    business_hours: dict[str, str] = Field(default_factory=dict)
    identity_mode: Literal[tuple(IdentityMode.values)] = IdentityMode.ANONYMOUS  # type: ignore[valid-type]

    @field_validator("theme")
    @classmethod
    def _theme(cls, value: dict[str, str]) -> dict[str, str]:
        return _django_clean(clean_theme, value)

    @field_validator("business_hours")
    @classmethod
    def _hours(cls, value: dict[str, str]) -> dict[str, str]:
        return _django_clean(clean_hours, value)


class BillingSpec(_Strict):
    """The client's default billing rule (apps/billing): what of Gaby's and operators' time is written back."""

    billable: bool = True
    bill_gaby: bool = True
    bill_operators: bool = True
    minimum_minutes: int = Field(2, ge=0, le=480)
    rounding_minutes: int = Field(6, ge=1, le=240)
    work_type: str = Field("", max_length=100)
    role: str = Field("", max_length=100)
    member_id: str = Field("", max_length=100)
    note_template: str = Field(DEFAULT_NOTE, min_length=1, max_length=4000)

    @field_validator("note_template")
    @classmethod
    def _note(cls, value: str) -> str:
        try:
            check_note_template(value)
        except Exception as exc:  # TemplateProblem: the sandboxed Jinja's own message
            raise ValueError(f"the note template does not compile: {exc}") from None
        return value


class TemplateSpec(_Strict):
    name: str = Field(min_length=1, max_length=120)
    description: str = Field("", max_length=2000)
    autonomy: Literal[tuple(Autonomy.values)] = Autonomy.INVESTIGATE  # type: ignore[valid-type]
    approval_threshold: int = Field(50, ge=0, le=100)
    compliance_profile: Literal[tuple(ProfileName.values)] = ProfileName.STANDARD  # type: ignore[valid-type]
    playbooks: tuple[str, ...] = ()
    knowledge_bundle: str = ""
    widget: WidgetSpec | None = None
    billing: BillingSpec | None = None
    connectors: tuple[str, ...] = ()

    @field_validator("playbooks")
    @classmethod
    def _playbooks(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        known = {entry.name for entry in shipped() if entry.playbook is not None}
        unknown = [name for name in names if name not in known]
        if unknown:
            raise ValueError(f"no shipped playbook named {', '.join(map(repr, unknown))}; choose among {sorted(known)}")
        return tuple(dict.fromkeys(names))

    @field_validator("knowledge_bundle")
    @classmethod
    def _bundle(cls, name: str) -> str:
        if name and name not in bundles():
            raise ValueError(f"no knowledge bundle named {name!r}; choose among {bundles()} or leave it empty")
        return name

    @field_validator("connectors")
    @classmethod
    def _connectors(cls, kinds: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [kind for kind in kinds if kind not in ConnectorKind.values]
        if unknown:
            raise ValueError(f"no connector kind {', '.join(map(repr, unknown))}; choose among {ConnectorKind.values}")
        return tuple(dict.fromkeys(kinds))


def _django_clean(clean: Any, value: Any) -> Any:
    try:
        return clean(value)
    except ValidationError as exc:
        raise ValueError(" ".join(exc.messages)) from None


def _where(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "template"


def _message(error: Any) -> str:
    if error["type"] == "extra_forbidden":
        return "unknown setting: remove it or check its spelling (see docs/guides/onboarding-templates.md)"
    if error["type"] == "missing":
        return "required: add it"
    message = str(error["msg"])
    return message.removeprefix("Value error, ")


def parse(text: str) -> TemplateSpec:
    """The validated spec of a template's YAML, or ``TemplateInvalid`` with every problem."""
    if "\x00" in text:
        raise TemplateInvalid(["template: remove the NUL character"])
    if len(text) > MAX_YAML:
        raise TemplateInvalid([f"template: {len(text)} characters; keep it under {MAX_YAML}"])
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "template"
        raise TemplateInvalid([f"{where}: not valid YAML ({getattr(exc, 'problem', None) or exc})"]) from None
    if not isinstance(data, dict):
        raise TemplateInvalid(["template: write it as YAML settings, starting with `name: ...`"])
    try:
        return TemplateSpec.model_validate(data)
    except PydanticError as exc:
        raise TemplateInvalid([f"{_where(e['loc'])}: {_message(e)}" for e in exc.errors()]) from None


def changed_sections(before: dict[str, Any] | None, after: dict[str, Any]) -> list[str]:
    """The top-level settings that differ between two specs (``model_dump`` dicts), in the spec's order."""
    if before is None:
        return list(SECTIONS)
    return [section for section in SECTIONS if before.get(section) != after.get(section)]
