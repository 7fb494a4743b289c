"""Reading a playbook's YAML into the schema (schema.py), validated in the same single pass.

Every problem is collected with the file (or client playbook) it is in and the field it concerns, e.g.
``library/password_reset.yaml: steps[1].tool: required``, so an author fixes all of them at once: ``parse``
returns the ``Playbook`` or raises ``PlaybookInvalid`` listing them all.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from apps.agent.contracts import Verdict
from apps.agent.playbooks import templating
from apps.agent.playbooks.entities import FALLBACKS, NAMED_PATTERNS, EntitySpec
from apps.agent.playbooks.schema import (
    BUILTIN_ESCALATIONS,
    MAX_YAML,
    NAME,
    STEP_ID,
    TONES,
    Branch,
    Escalation,
    MatchRules,
    Playbook,
    PlaybookInvalid,
    Problem,
    Reply,
    Step,
)


class _Validator:
    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[Problem] = []

    def fail(self, where: str, message: str) -> None:
        self.problems.append(Problem(self.source, where, message))

    def text(self, data: dict[str, Any], key: str, where: str, *, required: bool = False, default: str = "") -> str:
        value = data.get(key, default)
        if value is None or value == "":
            if required:
                self.fail(f"{where}{key}", "required")
            return default
        if not isinstance(value, str | int | float):
            self.fail(f"{where}{key}", f"must be text, not {type(value).__name__}")
            return default
        return str(value)

    def strings(self, data: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
        value = data.get(key) or []
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(item, str | int) for item in value):
            self.fail(f"{where}{key}", "must be a list of texts")
            return ()
        return tuple(str(item) for item in value)

    def mapping(self, data: Any, where: str) -> dict[str, Any]:
        if not isinstance(data, dict):
            self.fail(where, f"must be a mapping, not {type(data).__name__}")
            return {}
        return data

    def template(self, source: str, where: str, *, expression: bool = False) -> None:
        try:
            (templating.check_expression if expression else templating.check_template)(source)
        except templating.TemplateProblem as exc:
            self.fail(where, str(exc))

    def unknown(self, data: dict[str, Any], allowed: set[str], where: str) -> None:
        for key in data:
            if key not in allowed:
                self.fail(f"{where}{key}", f"unknown field (expected one of: {', '.join(sorted(allowed))})")


def parse(text: str, *, source: str) -> Playbook:
    """The playbook in ``text``, or ``PlaybookInvalid`` listing every problem with its field."""
    if len(text) > MAX_YAML:
        raise PlaybookInvalid([Problem(source, "(file)", f"larger than {MAX_YAML} characters")])
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "(file)"
        raise PlaybookInvalid([Problem(source, where, f"not valid YAML: {getattr(exc, 'problem', exc)}")]) from None
    v = _Validator(source)
    data = v.mapping(data, "(file)")
    if v.problems:
        raise PlaybookInvalid(v.problems)
    v.unknown(
        data,
        {
            "name",
            "version",
            "description",
            "intent",
            "match",
            "entities",
            "steps",
            "replies",
            "escalations",
            "summary",
            "confidence",
            "not_intent",
        },
        "",
    )
    name = v.text(data, "name", "", required=True)
    if name and not NAME.match(name):
        v.fail("name", "use 2-80 lowercase letters, digits, '-' or '_', starting with a letter")
    version = data.get("version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        v.fail("version", "must be a whole number from 1")
        version = 1
    intent = v.strings(data, "intent", "")
    if not intent:
        v.fail("intent", "required: a few example phrasings of the problem, used for matching")
    confidence = data.get("confidence", 0.8)
    if not isinstance(confidence, int | float) or not 0 <= confidence <= 1:
        v.fail("confidence", "must be a number between 0 and 1")
        confidence = 0.8
    steps = _steps(v, data.get("steps"))
    replies = _replies(v, data.get("replies"))
    escalations = _escalations(v, data.get("escalations"))
    _check_targets(v, steps, replies, escalations)
    summary = v.text(data, "summary", "")
    if summary:
        v.template(summary, "summary")
    playbook = Playbook(
        name=name,
        version=version,
        description=v.text(data, "description", "", required=True),
        intent=intent,
        match=_match(v, data.get("match")),
        entities=_entities(v, data.get("entities")),
        steps=steps,
        replies=replies,
        escalations=escalations,
        summary=summary,
        confidence=float(confidence),
        source=source,
        text=text,
        not_intent=v.strings(data, "not_intent", ""),
    )
    if v.problems:
        raise PlaybookInvalid(v.problems)
    return playbook


def _match(v: _Validator, raw: Any) -> MatchRules:
    data = v.mapping(raw or {}, "match")
    v.unknown(
        data,
        {
            "threshold",
            "keywords",
            "patterns",
            "require_any",
            "exclude",
            "sources",
            "priorities",
            "attributes",
            "questions",
        },
        "match.",
    )
    threshold = data.get("threshold", 0.55)
    if not isinstance(threshold, int | float) or not 0 < threshold <= 1:
        v.fail("match.threshold", "must be a number above 0 and at most 1")
        threshold = 0.55
    patterns = v.strings(data, "patterns", "match.")
    for index, pattern in enumerate(patterns):
        try:
            re.compile(pattern)
        except re.error as exc:
            v.fail(f"match.patterns[{index}]", f"not a valid regular expression: {exc}")
    attributes: dict[str, tuple[str, ...]] = {}
    for key, values in v.mapping(data.get("attributes") or {}, "match.attributes").items():
        allowed = [values] if isinstance(values, str | int | bool) else values
        if not isinstance(allowed, list):
            v.fail(f"match.attributes.{key}", "must be a value or a list of values")
            continue
        attributes[str(key)] = tuple(str(item).lower() for item in allowed)
    questions = data.get("questions", False)
    if not isinstance(questions, bool):
        v.fail("match.questions", "must be true or false")
        questions = False
    return MatchRules(
        threshold=float(threshold),
        keywords=tuple(k.lower() for k in v.strings(data, "keywords", "match.")),
        patterns=patterns,
        require_any=tuple(k.lower() for k in v.strings(data, "require_any", "match.")),
        exclude=tuple(k.lower() for k in v.strings(data, "exclude", "match.")),
        sources=v.strings(data, "sources", "match."),
        priorities=v.strings(data, "priorities", "match."),
        attributes=attributes,
        questions=questions,
    )


def _entities(v: _Validator, raw: Any) -> tuple[EntitySpec, ...]:
    specs = []
    for name, spec in v.mapping(raw or {}, "entities").items():
        where = f"entities.{name}"
        if isinstance(spec, str):
            spec = {"type": spec}
        spec = v.mapping(spec, where)
        v.unknown(spec, {"type", "pattern", "fallback", "required"}, f"{where}.")
        kind = str(spec.get("type", "regex" if "pattern" in spec else name))
        pattern = str(spec.get("pattern") or NAMED_PATTERNS.get(kind, ""))
        if kind != "regex" and kind not in NAMED_PATTERNS:
            v.fail(f"{where}.type", f"unknown type {kind!r}: use one of {', '.join([*NAMED_PATTERNS, 'regex'])}")
        elif not pattern:
            v.fail(f"{where}.pattern", "required for a regex entity")
        else:
            try:
                re.compile(pattern)
            except re.error as exc:
                v.fail(f"{where}.pattern", f"not a valid regular expression: {exc}")
        fallback = str(spec.get("fallback", ""))
        if fallback and fallback not in FALLBACKS:
            v.fail(f"{where}.fallback", f"use one of {', '.join(FALLBACKS)}")
        specs.append(EntitySpec(str(name), pattern, fallback, bool(spec.get("required", False)), kind))
    return tuple(specs)


def _steps(v: _Validator, raw: Any) -> tuple[Step, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        v.fail("steps", "must be a list of steps")
        return ()
    steps, seen = [], set()
    for index, item in enumerate(raw):
        where = f"steps[{index}]"
        data = v.mapping(item, where)
        v.unknown(
            data,
            {"id", "connector", "tool", "args", "purpose", "when", "verify", "propose", "preview", "branches"},
            f"{where}.",
        )
        if data.get("propose") and data.get("preview"):
            v.fail(where, "a step is either proposed (a person applies it) or previewed (a dry run), not both")
        step_id = v.text(data, "id", f"{where}.", required=True)
        if step_id and not STEP_ID.match(step_id):
            v.fail(f"{where}.id", "use lowercase letters, digits and '_' (it is used in templates: steps.<id>)")
        if step_id in seen:
            v.fail(f"{where}.id", f"duplicate step id {step_id!r}")
        seen.add(step_id)
        tool = v.text(data, "tool", f"{where}.", required=True)
        args = v.mapping(data.get("args") or {}, f"{where}.args")
        for key, value in args.items():
            try:
                templating.check_value(value)
            except templating.TemplateProblem as exc:
                v.fail(f"{where}.args.{key}", str(exc))
        if tool == "query" and isinstance(args.get("sql"), str) and "{" in args["sql"]:
            v.fail(f"{where}.args.sql", "must be literal SQL: pass ticket values as params ($1, $2...)")
        for key in ("when", "verify"):
            if data.get(key):
                v.template(str(data[key]), f"{where}.{key}", expression=True)
        branches = []
        for b_index, branch in enumerate(data.get("branches") or []):
            b_where = f"{where}.branches[{b_index}]"
            b_data = v.mapping(branch, b_where)
            v.unknown(b_data, {"when", "goto", "escalate", "resolve"}, f"{b_where}.")
            when = v.text(b_data, "when", f"{b_where}.", required=True)
            if when:
                v.template(when, f"{b_where}.when", expression=True)
            targets = [key for key in ("goto", "escalate", "resolve") if b_data.get(key)]
            if len(targets) != 1:
                v.fail(b_where, "needs exactly one of goto, escalate or resolve")
            branches.append(Branch(when, *(str(b_data.get(key) or "") for key in ("goto", "escalate", "resolve"))))
        steps.append(
            Step(
                id=step_id,
                connector=v.text(data, "connector", f"{where}.", required=True),
                tool=tool,
                args=args,
                purpose=v.text(data, "purpose", f"{where}.", default=f"Playbook step {step_id}"),
                when=str(data.get("when") or ""),
                verify=str(data.get("verify") or ""),
                propose=bool(data.get("propose", False)),
                preview=bool(data.get("preview", False)),
                branches=tuple(branches),
            )
        )
    return tuple(steps)


def reply_of(v: _Validator, raw: Any, where: str) -> Reply | None:
    if isinstance(raw, str):
        raw = {"default": raw}
    data = v.mapping(raw, where)
    v.unknown(data, {*TONES, "default"}, f"{where}.")
    if not data:
        v.fail(where, "needs a text for each tone (formal, friendly, technical) or a default")
        return None
    missing = [tone for tone in TONES if tone not in data]
    if missing and "default" not in data:
        v.fail(where, f"missing tone(s) {', '.join(missing)}: write them or add a default")
    for key, text in data.items():
        if not isinstance(text, str):
            v.fail(f"{where}.{key}", "must be text")
        else:
            v.template(text, f"{where}.{key}")
    return Reply({str(key): str(text) for key, text in data.items()})


def _replies(v: _Validator, raw: Any) -> dict[str, Reply]:
    data = v.mapping(raw or {}, "replies")
    if "resolved" not in data:
        v.fail("replies.resolved", "required: the reply when every step succeeded")
    replies = {}
    for name, raw_reply in data.items():
        reply = reply_of(v, raw_reply, f"replies.{name}")
        if reply is not None:
            replies[str(name)] = reply
    return replies


def _escalations(v: _Validator, raw: Any) -> dict[str, Escalation]:
    escalations = {}
    for name, item in v.mapping(raw or {}, "escalations").items():
        where = f"escalations.{name}"
        data = v.mapping(item, where)
        v.unknown(data, {"verdict", "reason", "reply", "unknown_requester"}, f"{where}.")
        verdict = str(data.get("verdict", ""))
        allowed = [value for value in Verdict if value not in {Verdict.AUTO_RESOLVED, Verdict.FAILED}]
        if verdict not in allowed:
            v.fail(f"{where}.verdict", f"use one of {', '.join(allowed)}")
            continue
        reason = v.text(data, "reason", f"{where}.", required=True)
        if reason:
            v.template(reason, f"{where}.reason")
        reply = reply_of(v, data["reply"], f"{where}.reply") if data.get("reply") else None
        unknown_requester = data.get("unknown_requester", False)
        if not isinstance(unknown_requester, bool):
            v.fail(f"{where}.unknown_requester", "use true or false")
            continue
        escalations[str(name)] = Escalation(str(name), Verdict(verdict), reason, reply, unknown_requester)
    return escalations


def _check_targets(
    v: _Validator, steps: tuple[Step, ...], replies: dict[str, Reply], escalations: dict[str, Escalation]
) -> None:
    ids = [step.id for step in steps]
    for index, step in enumerate(steps):
        for b_index, branch in enumerate(step.branches):
            where = f"steps[{index}].branches[{b_index}]"
            if branch.goto and (branch.goto not in ids or ids.index(branch.goto) <= index):
                v.fail(f"{where}.goto", f"{branch.goto!r} is not a later step (steps only jump forward)")
            if branch.escalate and branch.escalate not in escalations and branch.escalate not in BUILTIN_ESCALATIONS:
                v.fail(f"{where}.escalate", f"no escalation named {branch.escalate!r}")
            if branch.resolve and branch.resolve not in replies:
                v.fail(f"{where}.resolve", f"no reply named {branch.resolve!r} under replies")
