"""Configuration operations of apps/safety: rules (audited)."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from apps.accounts.models import User
from apps.auditlog.models import ActorKind
from apps.connectors.models import Connector
from apps.safety import audit
from apps.safety.models import SafetyRule
from apps.safety.policy import ArgumentPredicate


def check_predicates(value: Any) -> None:
    """Raise ValueError with a message that says what to fix."""
    if not isinstance(value, list):
        raise ValueError("Predicates are a JSON list of objects.")
    for item in value:
        if not isinstance(item, dict) or set(item) != {"argument", "op", "value"}:
            raise ValueError('Each predicate is {"argument": ..., "op": ..., "value": ...}.')
        ArgumentPredicate(str(item["argument"]), str(item["op"]), item["value"])


@transaction.atomic
def add_rule(*, effect: str, connector: Connector | None, tool_pattern: str, predicates: list[dict[str, Any]],
             label: str, actor: User) -> SafetyRule:  # fmt: skip
    check_predicates(predicates)
    rule = SafetyRule.objects.create(effect=effect, connector=connector, tool_pattern=tool_pattern or "*",
                                     predicates=predicates, label=label)  # fmt: skip
    audit.record(event="safety.rule_added", actor_kind=ActorKind.USER, actor_id=actor.pk,
                 payload={"rule": str(rule.pk), "effect": effect, "connector": connector.name if connector else None,
                          "tool_pattern": rule.tool_pattern, "predicates": predicates, "label": label})  # fmt: skip
    return rule


@transaction.atomic
def delete_rule(*, rule: SafetyRule, actor: User) -> None:
    audit.record(event="safety.rule_removed", actor_kind=ActorKind.USER, actor_id=actor.pk,
                 payload={"rule": str(rule.pk), "effect": rule.effect, "tool_pattern": rule.tool_pattern,
                          "label": rule.label})  # fmt: skip
    rule.delete()
