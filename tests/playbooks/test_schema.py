"""Broken playbooks are refused with every problem named by file and field — and reported, never skipped."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from apps.agent.playbooks import library, templating
from apps.agent.playbooks.parsing import parse
from apps.agent.playbooks.schema import PlaybookInvalid

GOOD = """
name: hello
description: Say hello.
intent: [hello there]
steps:
  - id: look
    connector: postgres
    tool: query
    args: {sql: "SELECT 1"}
replies:
  resolved: "Hello {{ ticket.contact_name }}"
"""


def _problems(text: str) -> list[str]:
    with pytest.raises(PlaybookInvalid) as caught:
        parse(text, source="library/broken.yaml")
    return [str(p) for p in caught.value.problems]


def test_a_good_playbook_parses() -> None:
    playbook = parse(GOOD, source="library/hello.yaml")
    assert playbook.name == "hello" and playbook.connectors == ("postgres",) and playbook.match.threshold == 0.55


def test_an_escalation_may_say_the_requester_is_unknown() -> None:
    text = GOOD.replace(
        "replies:",
        'escalations:\n  gone:\n    verdict: needs_client\n    reason: "x"\n    unknown_requester: true\nreplies:',
    )
    escalations = parse(text, source="library/hello.yaml").escalations
    assert escalations["gone"].unknown_requester is True


def test_invalid_yaml_names_the_line() -> None:
    assert _problems("name: x\nintent: [a, b\n") == [
        "library/broken.yaml: line 3, column 1: not valid YAML: expected ',' or ']', but got '<stream end>'"
    ]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("name: hello", "name: Hello World"), "library/broken.yaml: name: use 2-80 lowercase letters"),
        (("description: Say hello.\n", ""), "library/broken.yaml: description: required"),
        (("intent: [hello there]", "intent: []"), "library/broken.yaml: intent: required"),
        (("tool: query", "tool: ''"), "library/broken.yaml: steps[0].tool: required"),
        (("connector: postgres", "connecter: postgres"), "library/broken.yaml: steps[0].connecter: unknown field"),
        (('"SELECT 1"', '"SELECT {{ entities.x }}"'), "steps[0].args.sql: must be literal SQL"),
        (('"Hello {{ ticket.contact_name }}"', '"Hello {{ ticket."'), "replies.resolved.default: template does not"),
        (("  resolved:", "  done:"), "library/broken.yaml: replies.resolved: required"),
        (("args: {", "when: 'result.data[' \n    args: {"), "steps[0].when: expression does not compile"),
        (
            (
                '  resolved: "Hello',
                'escalations:\n  gone:\n    verdict: needs_client\n    reason: "x"\n'
                '    unknown_requester: "yes"\nreplies:\n  resolved: "Hello',
            ),
            "library/broken.yaml: escalations.gone.unknown_requester: use true or false",
        ),
    ],
)
def test_each_problem_names_the_field(change: tuple[str, str], expected: str) -> None:
    problems = _problems(GOOD.replace(*change))
    assert any(expected in problem for problem in problems), problems


def test_all_problems_are_reported_at_once() -> None:
    text = (
        GOOD.replace("name: hello", "name: ''").replace("intent: [hello there]", "intent: 5")
        + """
match: {threshold: 3, patterns: ['(unclosed']}
entities:
  order: {type: ticket_number}
  code: {pattern: '[', fallback: phone}
escalations:
  nope: {verdict: auto_resolved, reason: x}
"""
    )
    text = text.replace(
        "    args:",
        "    branches:\n      - when: 'true'\n        goto: look\n      - when: 'true'\n"
        "        escalate: nowhere\n    args:",
    )
    fields = {problem.split(": ")[1] for problem in _problems(text)}
    assert fields >= {
        "name",
        "intent",
        "match.threshold",
        "match.patterns[0]",
        "entities.order.type",
        "entities.code.pattern",
        "entities.code.fallback",
        "escalations.nope.verdict",
        "steps[0].branches[0].goto",
        "steps[0].branches[1].escalate",
    }


def test_a_reply_needs_every_tone_or_a_default() -> None:
    text = GOOD.replace('resolved: "Hello {{ ticket.contact_name }}"', "resolved: {formal: Dear, friendly: Hi}")
    assert _problems(text) == [
        "library/broken.yaml: replies.resolved: missing tone(s) technical: write them or add a default"
    ]


def test_the_sandbox_refuses_python_internals() -> None:
    # Unsafe attributes are undefined (they render empty); calling into them or mutating data is refused.
    assert templating.render("{{ ''.__class__.__mro__ }}|{{ cite.__globals__ }}", {"cite": len}) == "|"
    with pytest.raises(templating.TemplateProblem, match="unsafe"):
        templating.evaluate("entities.update({'a': 1})", {"entities": {}})
    with pytest.raises(templating.TemplateProblem, match="unsafe"):
        templating.evaluate("''.__class__.__subclasses__()", {})


def test_a_broken_library_file_is_reported_and_not_used(tmp_path: Path, in_hartwell: Any) -> None:
    (tmp_path / "good.yaml").write_text(GOOD)
    (tmp_path / "broken.yaml").write_text(GOOD.replace("name: hello", "name: broken").replace("    tool: query\n", ""))
    current = library.catalog(tmp_path)
    assert [p.name for p in current.active] == ["hello"]
    broken = current.get("broken")
    assert broken is not None and broken.playbook is None
    assert [str(p) for p in current.problems] == ["library/broken.yaml: steps[0].tool: required"]


def test_a_step_is_proposed_or_previewed_never_both() -> None:
    text = GOOD.replace('args: {sql: "SELECT 1"}', 'args: {sql: "SELECT 1"}\n    propose: true\n    preview: true')
    assert _problems(text) == [
        "library/broken.yaml: steps[0]: a step is either proposed (a person applies it) or previewed (a dry run), "
        "not both"
    ]
    previewed = parse(GOOD.replace('args: {sql: "SELECT 1"}', 'args: {sql: "SELECT 1"}\n    preview: true'), source="x")
    assert previewed.steps[0].preview is True and previewed.steps[0].propose is False
