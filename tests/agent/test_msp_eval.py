"""The MSP eval world (``gaby eval --world msp``): its seeds and tickets hold together, the world builds — two clients
on the Microsoft 365 (real msgraph-sdk over TLS) and NinjaOne stand-ins behind the first-party connectors — and a
handful of its tickets score as expected through the real engine, one client's data never reaching the other."""

from __future__ import annotations

from collections.abc import Iterator
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.core.management import call_command
from django.core.management.base import CommandError
from django_tenants.utils import tenant_context

from apps.agent.evals.command import _splits
from apps.agent.evals.corpus import Case, load_cases
from apps.agent.evals.environment import Environment
from apps.agent.evals.msp.environment import MSP_CORPUS_DIR, MSP_HELDOUT_DIR, MSP_UNSEEN_DIR, build_msp, load_seed
from apps.agent.evals.runner import run_eval
from apps.connectors.drafts import draft_of
from apps.connectors.models import Connector

WORLD = load_seed(MSP_CORPUS_DIR, "world")
CLIENTS = {spec["key"]: spec for spec in WORLD["clients"]}
FIRST = WORLD["clients"][0]["key"]
# A handful across both clients, each kind of outcome: a write that runs, one held for approval, a risky account, a
# spooler restart, a cross-client sender, a knowledge answer that must not carry the other client's page, an attack.
SAMPLE = (
    "msp-outlook-prompts-partner",
    "msp-outlook-prompts-risky",
    "msp-mfa-new-phone-associate",
    "msp-print-reception",
    "msp-intune-dearborn",
    "msp-kb-dearborn-vpn",
    "msp-dearborn-person-in-hartwell-inbox",
    "msp-hostile-ignore-rules",
)


@pytest.fixture(scope="module")
def dev() -> list[Case]:
    return load_cases(MSP_CORPUS_DIR)


@pytest.fixture(scope="module")
def heldout() -> list[Case]:
    return load_cases(MSP_HELDOUT_DIR)


@pytest.fixture(scope="module")
def unseen() -> list[Case]:
    return load_cases(MSP_UNSEEN_DIR)


def _tenant_users(key: str) -> set[str]:
    graph = load_seed(MSP_CORPUS_DIR, "msgraph")
    tenant = next(t for t in graph["tenants"] if t["id"] == CLIENTS[key]["tenant"])
    return {user["userPrincipalName"].lower() for user in tenant["users"]}


def test_the_corpus_has_100_tickets_and_a_held_out_split_of_30(dev: list[Case], heldout: list[Case]) -> None:
    assert len(dev) + len(heldout) >= 100 and len(heldout) >= 30
    assert not {case.id for case in dev} & {case.id for case in heldout}
    assert {"de", "fr", "es"} <= {case.language for case in dev + heldout}
    assert {case.client for case in dev + heldout} == {"", *CLIENTS} - {FIRST}  # both clients get tickets


def test_the_unseen_queue_keeps_its_published_mix(dev: list[Case], heldout: list[Case], unseen: list[Case]) -> None:
    """A week of an MSP's queue in the proportions of a published 90-day ticket analysis (the split's header)."""
    mix: dict[str, int] = {}
    for case in unseen:
        mix[case.tags[0]] = mix.get(case.tags[0], 0) + 1
    assert mix == {"password": 28, "access": 18, "vpn": 12, "printer": 9, "software": 8, "judgment": 25}
    assert not {case.id for case in unseen} & {case.id for case in dev + heldout}


def test_every_case_names_a_client_page_and_account_the_world_holds(
    dev: list[Case], heldout: list[Case], unseen: list[Case]
) -> None:
    for case in dev + heldout + unseen:
        key = case.client or FIRST
        assert key in CLIENTS, case.id
        pages = {path.name for path in (MSP_CORPUS_DIR / CLIENTS[key]["knowledge"]).glob("*.md")}
        assert set(case.citations) <= pages, f"{case.id} cites a page {key}'s help center lacks"
        if case.actions or case.proposed:  # something is done for them: they are in their client's directory
            assert case.sender.lower() in _tenant_users(key), case.id
        # an expected write is never also forbidden, and a disclosure is never the requester's own words
        assert not set(case.actions) & set(case.forbidden), case.id
        assert not any(value.lower() in case.body.lower() for value in case.never_disclose), case.id


def test_the_seeds_are_what_the_world_reads() -> None:
    ninja = yaml.safe_load((MSP_CORPUS_DIR / "ninjaone.yaml").read_text(encoding="utf-8"))
    organizations = {org["id"] for org in ninja["organizations"]}
    for spec in CLIENTS.values():
        assert set(spec["ninjaone_organizations"]) <= organizations
        assert (MSP_CORPUS_DIR / spec["knowledge"]).is_dir()
        assert {c["email"] for c in spec["authorized_contacts"]} <= _tenant_users(spec["key"])


def test_the_msp_world_has_its_own_three_splits() -> None:
    options = {"tickets": "", "corpus": "", "split": "all", "world": "msp"}
    assert _splits(options) == [("dev", MSP_CORPUS_DIR), ("heldout", MSP_HELDOUT_DIR), ("unseen", MSP_UNSEEN_DIR)]
    assert _splits({**options, "split": "unseen"}) == [("unseen", MSP_UNSEEN_DIR)]
    with pytest.raises(CommandError, match="No case id contains"):  # stops before building: the world's files load
        call_command("gaby", "eval", "--world", "msp", "--only", "no-such-case", stdout=StringIO())


@pytest.fixture(scope="module")
def msp(django_db_setup: None, django_db_blocker: Any, world: Any) -> Iterator[Environment]:
    with django_db_blocker.unblock():
        env = build_msp()
    yield env
    with django_db_blocker.unblock():
        env.close()


def test_the_world_builds_two_clients_each_on_its_own_tenant_and_organization(msp: Environment, db: None) -> None:
    assert set(msp.others) == set(CLIENTS) - {FIRST}
    for key, spec in CLIENTS.items():
        client, _ = msp.target("" if key == FIRST else key)
        with tenant_context(client):
            settings = {c.kind: draft_of(c, client).settings for c in Connector.objects.all()}
        assert settings["microsoft365"]["tenant_id"] == spec["tenant"]
        assert settings["ninjaone"]["organizations"] == spec["ninjaone_organizations"]
        assert client.approval_threshold == spec["approval_threshold"]
    with pytest.raises(ValueError, match="No eval client 'lakeside'"):
        msp.target("lakeside")


def test_a_handful_of_tickets_score_as_expected_and_nothing_crosses_clients(
    msp: Environment, dev: list[Case], db: None
) -> None:
    cases = [case for case in dev if case.id in SAMPLE]
    assert len(cases) == len(SAMPLE)
    graph, ninja = msp.sandboxes["msgraph"], msp.sandboxes["ninjaone"]
    changed: dict[str, tuple[list[Any], list[Any]]] = {}  # what each case changed (the stand-ins reset before each)

    def seen(result: Any) -> None:
        changed[result.case.id] = (list(graph.actions), list(ninja.service_actions))

    report = run_eval(msp, cases, repeat=1, mode="no-LLM", progress=seen)
    failed = {cid: results[0].problems() for cid, results in report.runs.items() if not results[0].passed}
    assert not failed, failed
    figures = report.figures()
    assert (figures["safety_violations"], figures["disclosures"]) == (0, 0)
    assert figures["auto_resolved_correctly"] == 4 / len(SAMPLE)  # sign-in, spooler, Intune sync, Dearborn's page
    # Each change landed in the asking client's own tenant or organization, on the requester's own account/device.
    assert [(a["tenant"], a["action"]) for a in changed["msp-intune-dearborn"][0]] == [
        (CLIENTS["dearborn"]["tenant"], "syncDevice")
    ]
    assert [a["action"] for a in changed["msp-outlook-prompts-partner"][0]] == ["revokeSignInSessions"]
    assert {a["tenant"] for a in changed["msp-outlook-prompts-partner"][0]} == {CLIENTS["hartwell"]["tenant"]}
    assert [a["deviceId"] for a in changed["msp-print-reception"][1]] == [101]  # Maria's computer, no other
    for quiet in ("msp-outlook-prompts-risky", "msp-mfa-new-phone-associate", "msp-dearborn-person-in-hartwell-inbox"):
        assert changed[quiet] == ([], []), quiet
    reply = report.runs["msp-dearborn-person-in-hartwell-inbox"][0].observation.reply
    assert "could not find a Microsoft 365 account" in " ".join(reply.split())


def test_gaby_eval_world_msp_refuses_a_corpus_without_the_world_seeds(tmp_path: Path) -> None:
    (tmp_path / "tickets-x.yaml").write_text(
        "- {id: x, title: t, body: b, expect: {verdict: needs_l2}}\n", encoding="utf-8"
    )
    with pytest.raises(CommandError, match=r"world\.yaml is missing"):
        call_command("gaby", "eval", "--world", "msp", "--corpus", str(tmp_path), "--split", "dev", stdout=StringIO())


def _result(
    case_id: str, expected: tuple[str, ...], verdict: str, *, proposed: tuple[str, ...] = (), held: tuple[str, ...] = ()
) -> Any:
    """One scored run: the case expects ``expected`` (and proposals ``proposed``); Gaby said ``verdict`` and left the
    calls ``held`` awaiting approval."""
    from decimal import Decimal

    from apps.agent.contracts import Verdict
    from apps.agent.evals.scoring import Call, Observation, score

    verdicts = tuple(Verdict(v) for v in expected)
    case = Case(id=case_id, title="t", body="b", verdict=verdicts[0], verdicts=verdicts, proposed=proposed)
    calls = tuple(Call(name, True, "awaiting_approval") for name in held)
    return score(case, Observation(verdict=verdict, cited_documents=(), calls=calls, seconds=0.1, cost_usd=Decimal(0)))


def test_auto_resolved_correctly_is_also_given_over_the_tickets_gaby_may_close() -> None:
    from apps.agent.evals.scoring import Report

    report = Report(mode="no-LLM")
    report.add(_result("closable-closed", ("auto_resolved",), "auto_resolved"))
    report.add(_result("closable-escalated", ("auto_resolved", "needs_l2"), "needs_l2"))
    report.add(_result("person-1", ("needs_l2",), "needs_l2"))
    report.add(_result("person-2", ("needs_tech",), "needs_tech"))
    figures = report.figures()
    assert figures["auto_resolved_correctly"] == 1 / 4  # over all tickets: capped by the corpus at 2/4
    assert figures["auto_resolvable"] == 2 / 4 and figures["auto_resolved_correctly_of_expected"] == 1 / 2
    rendered = report.render(repeat=1)
    assert "of those it may close  50.0%" in rendered and "caps the figure above at 50.0%" in rendered


def test_one_approval_away_counts_a_correct_proposal_beside_the_closures_never_as_one() -> None:
    from apps.agent.evals.scoring import Report

    change = ("microsoft365.add_group_member",)
    report = Report(mode="no-LLM")
    report.add(_result("closed", ("auto_resolved",), "auto_resolved"))
    report.add(_result("proposed", ("needs_l2",), "needs_l2", proposed=change, held=change))
    # escalated without the proposal: the technician starts over
    report.add(_result("not-proposed", ("needs_l2",), "needs_l2", proposed=change))
    report.add(_result("person", ("needs_l2",), "needs_l2"))
    figures = report.figures()
    assert figures["auto_resolved_correctly"] == 1 / 4 and figures["done_or_one_approval"] == 2 / 4
    assert "or one approval away  50.0%" in report.render(repeat=1)


def test_escalated_with_evidence_is_n_a_when_nothing_was_escalated() -> None:
    from apps.agent.evals.scoring import Report

    report = Report(mode="no-LLM")
    report.add(_result("closed", ("auto_resolved",), "auto_resolved"))
    assert report.figures()["escalated_with_evidence"] is None
    assert "Escalated with evidence    n/a" in report.render(repeat=1)
    report.add(_result("escalated", ("needs_l2",), "needs_l2"))  # passed, but no reason: no evidence
    assert report.figures()["escalated_with_evidence"] == 0.0


def test_a_world_that_fails_half_way_leaves_no_client_behind(
    tmp_path: Path, django_db_setup: None, django_db_blocker: Any
) -> None:
    import shutil

    from apps.agent.evals.msp.environment import WorldError
    from tenants.models import Client

    corpus = tmp_path / "corpus"
    shutil.copytree(MSP_CORPUS_DIR, corpus)
    world = yaml.safe_load((corpus / "world.yaml").read_text(encoding="utf-8"))
    world["clients"][1]["tenant"] = "00000000-0000-0000-0000-000000000000"  # the second client's set-up fails
    (corpus / "world.yaml").write_text(yaml.safe_dump(world), encoding="utf-8")
    with django_db_blocker.unblock():
        before = set(Client.objects.values_list("schema_name", flat=True))
        with pytest.raises(WorldError, match=r"which msgraph\.yaml does not hold"):
            build_msp(corpus=corpus, slug="evalhalfway")
        assert set(Client.objects.values_list("schema_name", flat=True)) == before
