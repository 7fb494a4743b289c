"""The decision at the one enforcement point: may this tool call run, and how? (SAF-1..4, SRE-1, CON-3)

``decide(action, rules)`` is pure: everything it needs is in the ``Action`` (what is being called, by
whom, under which autonomy settings) and the client's rules. The order of precedence, most restrictive
first, is the whole policy:

1. a matching **deny** rule refuses, whatever else says yes (deny beats allow);
2. a **read-only** scope refuses writes; a **dry-run** scope turns them into dry runs;
3. reads run;
4. writes in **investigate** autonomy are refused (the lowest of client, ticket source and connector wins);
5. writes on a **production** connector need a matching **allow** rule (SRE-1);
6. a caller that asks for a dry run gets one for any write that was not refused;
7. a write **on behalf of another person** than the verified requester (apps/safety/requester.py), unless an
   Admin listed the requester as an authorized contact, and any write for a ticket **flagged as suspicious**,
   waits for a human: Gaby never does either on its own;
8. **propose** autonomy turns a write into a proposal a human approves;
9. in **act**, a risk score at or above the client's threshold waits for approval; below it, it runs.

A tool nobody classified counts as a write.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Autonomy(StrEnum):
    INVESTIGATE = "investigate"
    PROPOSE = "propose"
    ACT = "act"

    @property
    def rank(self) -> int:
        return {"investigate": 0, "propose": 1, "act": 2}[self.value]

    @classmethod
    def from_client_setting(cls, value: str) -> Autonomy:
        """The client's MSP-3 setting (investigate / review / auto) in the policy's terms."""
        return {"investigate": cls.INVESTIGATE, "review": cls.PROPOSE, "auto": cls.ACT}.get(value, cls.INVESTIGATE)


class Scope(StrEnum):
    READ_ONLY = "read_only"
    DRY_RUN = "dry_run"
    READ_WRITE = "read_write"


class ToolClass(StrEnum):
    READ = "read"
    WRITE = "write"
    UNKNOWN = "unknown"


class Outcome(StrEnum):
    DENY = "deny"
    DRY_RUN = "dry_run"
    NEEDS_APPROVAL = "needs_approval"
    ALLOW = "allow"

    @property
    def permissiveness(self) -> int:
        """Deny < dry run (nothing changes) < approval (a human decides) < allow."""
        return {"deny": 0, "dry_run": 1, "needs_approval": 2, "allow": 3}[self.value]


@dataclass(frozen=True)
class ArgumentPredicate:
    """``{"argument": "namespace", "op": "eq", "value": "staging"}``: ops eq, ne, in, not_in, prefix, regex."""

    argument: str
    op: str
    value: Any

    OPS = ("eq", "ne", "in", "not_in", "prefix", "regex")

    def __post_init__(self) -> None:
        if self.op not in self.OPS:
            raise ValueError(f"Unknown predicate op {self.op!r}: use one of {', '.join(self.OPS)}.")
        if self.op in {"in", "not_in"} and not isinstance(self.value, list | tuple):
            raise ValueError(f"Predicate op {self.op!r} needs a list of values.")
        if self.op == "regex":
            re.compile(str(self.value))

    def holds(self, arguments: Mapping[str, Any]) -> bool:
        present = self.argument in arguments
        actual = arguments.get(self.argument)
        if self.op == "eq":
            return present and actual == self.value
        if self.op == "ne":
            return not present or actual != self.value
        if self.op == "in":
            return present and actual in self.value
        if self.op == "not_in":
            return not present or actual not in self.value
        if self.op == "prefix":
            return present and str(actual).startswith(str(self.value))
        return present and re.fullmatch(str(self.value), str(actual)) is not None


@dataclass(frozen=True)
class Rule:
    """Allow or deny calls whose connector, tool name (glob) and arguments all match (SAF-4)."""

    effect: str  # "allow" | "deny"
    tool_pattern: str = "*"
    connector: str | None = None  # connector id or name; None: any connector
    predicates: tuple[ArgumentPredicate, ...] = ()
    label: str = ""

    def __post_init__(self) -> None:
        if self.effect not in {"allow", "deny"}:
            raise ValueError(f"A rule's effect is 'allow' or 'deny', not {self.effect!r}.")

    def matches(self, action: Action) -> bool:
        if self.connector is not None and self.connector not in {action.connector_id, action.connector_name}:
            return False
        if not fnmatch.fnmatchcase(action.tool_name, self.tool_pattern):
            return False
        return all(predicate.holds(action.arguments) for predicate in self.predicates)

    def describe(self) -> str:
        return self.label or f"{self.effect} {self.tool_pattern}" + (f" on {self.connector}" if self.connector else "")


@dataclass(frozen=True)
class Action:
    connector_id: str
    connector_name: str
    tool_name: str
    tool_class: ToolClass
    arguments: Mapping[str, Any] = field(default_factory=dict)
    scope: Scope = Scope.READ_ONLY
    production: bool = False
    destructive: bool = False
    approval_required: bool = False  # the tool says every call waits for a person, unless an allow rule names it
    client_autonomy: Autonomy = Autonomy.INVESTIGATE
    connector_autonomy: Autonomy = Autonomy.INVESTIGATE
    source_autonomy: Autonomy | None = None  # the ticket source's, when the call serves a ticket
    approval_threshold: int = 50
    dry_run_requested: bool = False
    on_behalf_of_other: str = ""  # why the call names someone other than the requester ("" = it does not)
    requester_authorized_for_others: bool = False  # an authorized contact: may ask for colleagues (still audited)
    suspicion: str = ""  # the ticket's suspicion flags, when it has any
    human_asked: str = ""  # why the caller wants a human to apply it (a playbook step marked `propose`)

    @property
    def is_write(self) -> bool:
        return self.tool_class is not ToolClass.READ

    @property
    def autonomy(self) -> Autonomy:
        levels = [self.client_autonomy, self.connector_autonomy]
        if self.source_autonomy is not None:
            levels.append(self.source_autonomy)
        return min(levels, key=lambda level: level.rank)


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    reason: str
    risk: int
    autonomy: Autonomy


def risk_score(action: Action) -> int:
    """0-100 from what the call is and where it lands (SAF-3)."""
    if not action.is_write:
        return 5 if action.production else 0
    score = 40
    if action.tool_class is ToolClass.UNKNOWN:
        score += 10
    if action.destructive:
        score += 25
    if action.production:
        score += 25
    if any(str(value).strip() in {"*", "all", "%"} for value in action.arguments.values()):
        score += 10  # a wildcard target: wide blast radius
    return min(score, 100)


def decide(action: Action, rules: Iterable[Rule]) -> Decision:
    rules = list(rules)
    risk = risk_score(action)
    autonomy = action.autonomy

    def result(outcome: Outcome, reason: str) -> Decision:
        return Decision(outcome, reason, risk, autonomy)

    for rule in rules:
        if rule.effect == "deny" and rule.matches(action):
            return result(Outcome.DENY, f"Denied by rule: {rule.describe()}.")
    if action.is_write and action.scope is Scope.READ_ONLY:
        return result(
            Outcome.DENY,
            f"{action.connector_name} is read-only: {action.tool_name} would write. To allow it, change the "
            "connector's scope under Safety.",
        )
    if not action.is_write:
        if action.human_asked:
            # The approver sees what they would otherwise miss: whose records it reads, what the ticket is flagged for.
            warnings = (
                [f"on behalf of another person ({action.on_behalf_of_other})"] if action.on_behalf_of_other else []
            )
            warnings += [f"the ticket is flagged as suspicious ({action.suspicion})"] if action.suspicion else []
            note = f" ({'; '.join(warnings)})" if warnings else ""
            return result(Outcome.NEEDS_APPROVAL, f"{action.human_asked}{note}: a human decides.")
        return result(Outcome.ALLOW, "Reads are allowed.")
    if action.scope is Scope.DRY_RUN:
        return result(Outcome.DRY_RUN, f"{action.connector_name} is in dry-run scope: showing what would change.")
    if autonomy is Autonomy.INVESTIGATE:
        return result(Outcome.DENY, "Investigate mode: Gaby may look but not change anything.")
    if action.production and not any(rule.effect == "allow" and rule.matches(action) for rule in rules):
        return result(Outcome.DENY, f"{action.connector_name} is production: writes need an explicit allow rule.")
    if action.dry_run_requested:
        return result(Outcome.DRY_RUN, "A dry run was asked for.")
    if action.on_behalf_of_other and not action.requester_authorized_for_others:
        return result(
            Outcome.NEEDS_APPROVAL,
            f"On behalf of another person ({action.on_behalf_of_other}): Gaby acts only for the requester, "
            "so a human decides.",
        )
    if action.suspicion:
        return result(
            Outcome.NEEDS_APPROVAL, f"The ticket is flagged as suspicious ({action.suspicion}): a human decides."
        )
    if action.human_asked:
        return result(Outcome.NEEDS_APPROVAL, f"{action.human_asked}: a human decides.")
    if action.approval_required and not any(rule.effect == "allow" and rule.matches(action) for rule in rules):
        return result(
            Outcome.NEEDS_APPROVAL,
            f"{action.tool_name} always waits for a person (its server says so), unless an allow rule names the call.",
        )
    if autonomy is Autonomy.PROPOSE:
        return result(Outcome.NEEDS_APPROVAL, "Propose mode: a human applies this change.")
    if risk >= action.approval_threshold:
        return result(
            Outcome.NEEDS_APPROVAL,
            f"Risk {risk} is at or above this client's threshold of {action.approval_threshold}.",
        )
    return result(Outcome.ALLOW, f"Act mode, risk {risk} below the threshold of {action.approval_threshold}.")
