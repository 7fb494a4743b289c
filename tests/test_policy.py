"""The scope/autonomy evaluator behind the one enforcement point: examples and invariants."""

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apps.safety.policy import (
    Action,
    ArgumentPredicate,
    Autonomy,
    Outcome,
    Rule,
    Scope,
    ToolClass,
    decide,
    risk_score,
)

RESTART = Action(
    connector_id="c1",
    connector_name="k8s",
    tool_name="restart_pod",
    tool_class=ToolClass.WRITE,
    arguments={"namespace": "staging", "pod": "web-1"},
    scope=Scope.READ_WRITE,
    client_autonomy=Autonomy.ACT,
    connector_autonomy=Autonomy.ACT,
)
STAGING_ONLY = (
    Rule("allow", "restart_*", predicates=(ArgumentPredicate("namespace", "eq", "staging"),)),
    Rule("deny", "restart_*", predicates=(ArgumentPredicate("namespace", "eq", "prod"),), label="never restart prod"),
)


def test_restart_pods_in_staging_never_in_prod() -> None:
    assert decide(RESTART, STAGING_ONLY).outcome is Outcome.ALLOW
    prod = replace(RESTART, arguments={"namespace": "prod", "pod": "web-1"})
    decision = decide(prod, STAGING_ONLY)
    assert decision.outcome is Outcome.DENY and "never restart prod" in decision.reason


@pytest.mark.parametrize(
    ("changes", "outcome", "reason"),
    [
        ({"tool_class": ToolClass.READ}, Outcome.ALLOW, "Reads are allowed"),
        ({"scope": Scope.READ_ONLY}, Outcome.DENY, "read-only"),
        ({"scope": Scope.DRY_RUN}, Outcome.DRY_RUN, "dry-run scope"),
        ({"client_autonomy": Autonomy.INVESTIGATE}, Outcome.DENY, "Investigate mode"),
        ({"source_autonomy": Autonomy.INVESTIGATE}, Outcome.DENY, "Investigate mode"),
        ({"connector_autonomy": Autonomy.PROPOSE}, Outcome.NEEDS_APPROVAL, "Propose mode"),
        ({"dry_run_requested": True}, Outcome.DRY_RUN, "dry run was asked"),
        ({"destructive": True}, Outcome.NEEDS_APPROVAL, "Risk 65"),
        ({"tool_class": ToolClass.UNKNOWN}, Outcome.ALLOW, "risk 50 below"),
        ({"human_asked": "Playbook p proposes this step"}, Outcome.NEEDS_APPROVAL, "proposes this step: a human"),
        ({"human_asked": "Playbook p proposes this step", "scope": Scope.READ_ONLY}, Outcome.DENY, "read-only"),
        (
            {"human_asked": "Playbook p proposes this step", "tool_class": ToolClass.READ},
            Outcome.NEEDS_APPROVAL,
            "proposes this step: a human",
        ),
        (
            {
                "human_asked": "Playbook p proposes this step",
                "tool_class": ToolClass.READ,
                "on_behalf_of_other": "bob@x.example",
                "suspicion": "urgency",
            },
            Outcome.NEEDS_APPROVAL,
            "(on behalf of another person (bob@x.example); the ticket is flagged as suspicious (urgency))",
        ),
    ],
)
def test_each_step_of_the_policy(changes: dict[str, object], outcome: Outcome, reason: str) -> None:
    action = replace(RESTART, approval_threshold=60, **changes)  # type: ignore[arg-type]
    decision = decide(action, [])
    assert decision.outcome is outcome and reason in decision.reason


def test_production_writes_need_an_allow_rule_and_then_approval() -> None:
    prod_conn = replace(RESTART, production=True)
    assert "explicit allow rule" in decide(prod_conn, []).reason
    allowed = decide(prod_conn, [Rule("allow", "restart_pod")])
    assert allowed.outcome is Outcome.NEEDS_APPROVAL and allowed.risk == 65


def test_unknown_tools_count_as_writes_and_rules_validate() -> None:
    assert replace(RESTART, tool_class=ToolClass.UNKNOWN).is_write
    assert risk_score(replace(RESTART, arguments={"pod": "*"})) == 50
    with pytest.raises(ValueError, match="Unknown predicate op"):
        ArgumentPredicate("x", "like", "y")
    with pytest.raises(ValueError, match="needs a list"):
        ArgumentPredicate("x", "in", "y")
    with pytest.raises(ValueError, match="'allow' or 'deny'"):
        Rule("maybe")


def test_client_setting_names_map_to_policy_autonomy() -> None:
    assert [Autonomy.from_client_setting(v) for v in ("investigate", "review", "auto", "bogus")] == [
        Autonomy.INVESTIGATE,
        Autonomy.PROPOSE,
        Autonomy.ACT,
        Autonomy.INVESTIGATE,
    ]


_autonomy = st.sampled_from(list(Autonomy))
_actions = st.builds(
    Action,
    connector_id=st.sampled_from(["c1", "c2"]),
    connector_name=st.sampled_from(["k8s", "db"]),
    tool_name=st.sampled_from(["restart_pod", "delete_user", "get_user", "query"]),
    tool_class=st.sampled_from(list(ToolClass)),
    arguments=st.dictionaries(st.sampled_from(["namespace", "user"]), st.sampled_from(["prod", "staging", "*", "x"])),
    scope=st.sampled_from(list(Scope)),
    production=st.booleans(),
    destructive=st.booleans(),
    approval_required=st.booleans(),
    client_autonomy=_autonomy,
    connector_autonomy=_autonomy,
    source_autonomy=st.none() | _autonomy,
    approval_threshold=st.integers(0, 100),
    dry_run_requested=st.booleans(),
)
_rules = st.lists(
    st.builds(
        Rule,
        effect=st.sampled_from(["allow", "deny"]),
        tool_pattern=st.sampled_from(["*", "restart_*", "delete_*", "get_user"]),
        connector=st.none() | st.sampled_from(["c1", "k8s", "db"]),
        predicates=st.lists(
            st.builds(
                ArgumentPredicate,
                argument=st.sampled_from(["namespace", "user"]),
                op=st.sampled_from(["eq", "ne", "prefix"]),
                value=st.sampled_from(["prod", "staging"]),
            ),
            max_size=2,
        ).map(tuple),
    ),
    max_size=4,
)


@given(_actions, _rules)
def test_deny_beats_allow(action: Action, rules: list[Rule]) -> None:
    deny_all = Rule("deny", action.tool_name)
    assert decide(action, [*rules, deny_all, Rule("allow", "*")]).outcome is Outcome.DENY


@given(_actions, _rules, st.sampled_from(["client_autonomy", "connector_autonomy", "source_autonomy"]), _autonomy)
def test_the_most_restrictive_autonomy_wins(action: Action, rules: list[Rule], which: str, lower: Autonomy) -> None:
    current = getattr(action, which) or Autonomy.ACT
    if lower.rank > current.rank:
        return
    tightened = replace(action, **{which: lower})
    assert decide(tightened, rules).outcome.permissiveness <= decide(action, rules).outcome.permissiveness


@given(_actions, _rules)
def test_investigate_mode_never_changes_anything(action: Action, rules: list[Rule]) -> None:
    action = replace(action, client_autonomy=Autonomy.INVESTIGATE)
    outcome = decide(action, rules).outcome
    assert outcome in {Outcome.DENY, Outcome.DRY_RUN} or (outcome is Outcome.ALLOW and not action.is_write)


@given(_actions, _rules)
def test_a_read_only_scope_refuses_every_write_whatever_the_rules(action: Action, rules: list[Rule]) -> None:
    action = replace(action, scope=Scope.READ_ONLY)
    if action.is_write:
        assert decide(action, [*rules, Rule("allow", "*")]).outcome is Outcome.DENY


@given(_actions, _rules)
def test_a_tool_that_always_needs_approval_never_runs_without_a_person_or_an_allow_rule(
    action: Action, rules: list[Rule]
) -> None:
    action = replace(action, approval_required=True)
    without_allow = [rule for rule in rules if rule.effect == "deny"]
    if action.is_write:
        assert decide(action, without_allow).outcome is not Outcome.ALLOW


def test_an_allow_rule_naming_the_call_lifts_always_approval() -> None:
    always = replace(RESTART, approval_required=True, approval_threshold=100)
    held = decide(always, [])
    assert held.outcome is Outcome.NEEDS_APPROVAL and "always waits for a person" in held.reason
    assert decide(always, STAGING_ONLY).outcome is Outcome.ALLOW  # the staging rule names this call
    prod = replace(always, arguments={"namespace": "prod", "pod": "web-1"})
    assert decide(prod, [Rule("allow", "restart_*", predicates=STAGING_ONLY[0].predicates)]).outcome is (
        Outcome.NEEDS_APPROVAL
    )
