"""A template's YAML is validated in one pass; every problem names its setting and says what to do."""

from __future__ import annotations

import pytest

from apps.onboarding.client_templates.seed import builtin_files
from apps.onboarding.client_templates.spec import TemplateInvalid, parse


@pytest.mark.parametrize("path", builtin_files(), ids=lambda path: path.stem)
def test_every_builtin_template_validates(path: object) -> None:
    spec = parse(path.read_text(encoding="utf-8"))  # type: ignore[attr-defined]
    assert spec.knowledge_bundle and spec.playbooks and spec.connectors and spec.billing and spec.widget


def problems(text: str) -> list[str]:
    with pytest.raises(TemplateInvalid) as caught:
        parse(text)
    return caught.value.problems


def test_every_problem_is_listed_with_its_setting() -> None:
    found = problems(
        """
name: Broken
autonomy: reckless
approval_threshold: 140
compliance_profile: gdpr
playbooks: [m365-sign-in-help, reboot_everything]
knowledge_bundle: pirate-radio
connectors: [microsoft365, fax]
widget: {business_hours: {mon: "9-5"}, colour: red}
billing: {rounding_minutes: 0, note_template: "{{ ticket."}
"""
    )
    text = "\n".join(found)
    assert "autonomy: Input should be 'investigate', 'review' or 'auto'" in text
    assert "approval_threshold: Input should be less than or equal to 100" in text
    assert "compliance_profile: Input should be" in text and "'hipaa'" in text
    assert "playbooks: no shipped playbook named 'reboot_everything'; choose among" in text
    assert "knowledge_bundle: no knowledge bundle named 'pirate-radio'; choose among" in text
    assert "connectors: no connector kind 'fax'" in text
    assert "widget.business_hours: mon: use a day among" in text
    assert "widget.colour: unknown setting: remove it or check its spelling" in text
    assert "billing.rounding_minutes: Input should be greater than or equal to 1" in text
    assert "billing.note_template: the note template does not compile" in text
    assert len(found) == 10


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("autonomy: review", "name: required: add it"),
        ("name: [unclosed", "line 1, column 16: not valid YAML"),
        ("- just\n- a list", "write it as YAML settings"),
        ("name: x\x00", "remove the NUL character"),
        ("name: " + "x" * 70_000, "keep it under 64000"),
    ],
)
def test_unreadable_templates_say_what_to_fix(text: str, message: str) -> None:
    assert any(message in problem for problem in problems(text)), problems(text)
