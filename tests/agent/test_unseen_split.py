"""The unseen split (tickets written blind to the engine): it loads, it is big and varied enough, and every
expectation it makes is one the demo world's seeds can satisfy — so a failure on it is the engine's, not the
corpus'. Nothing here runs the engine on these tickets: the lead runs the split once per landing."""

from __future__ import annotations

import re
from collections import Counter
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.core.management import call_command
from django.core.management.base import CommandError

from apps.agent.contracts import Verdict
from apps.agent.evals.command import _splits
from apps.agent.evals.corpus import CORPUS_DIR, HELDOUT_DIR, UNSEEN_DIR, Case, load_cases
from apps.agent.evals.unseen.summarize import summarize

KNOWLEDGE = CORPUS_DIR / "knowledge"
# The request each case is (its tags say it); every case names at least one.
KINDS = {"how-to", "own-account", "third-party", "incident", "outage", "complaint", "legal", "unsupported-action",
         "suspicious"}  # fmt: skip
WRITES = {
    "keycloak.send_password_reset",
    "keycloak.unlock_user",
    "keycloak.set_user_enabled",
    "keycloak.logout_sessions",
    "stripe.resend_invoice",
    "stripe.retry_invoice_payment",
    "stripe.refund",
}


@pytest.fixture(scope="module")
def cases() -> list[Case]:
    return load_cases(UNSEEN_DIR)


@pytest.fixture(scope="module")
def seeds() -> dict[str, Any]:
    keycloak = yaml.safe_load((CORPUS_DIR / "keycloak.yaml").read_text(encoding="utf-8"))
    stripe = yaml.safe_load((CORPUS_DIR / "stripe.yaml").read_text(encoding="utf-8"))
    shop = (CORPUS_DIR / "shop.sql").read_text(encoding="utf-8")
    customers_sql = shop.split("INSERT INTO customers", 1)[1].split(";", 1)[0]
    return {
        "keycloak": {user["email"]: user for user in keycloak["users"]},
        "stripe": {customer["email"]: customer for customer in stripe["customers"]},
        "stripe_data": stripe,
        "postgres": set(re.findall(r"'([^'\s]+@[^'\s]+)'", customers_sql)),
    }


def test_the_unseen_split_loads_with_130_or_more_uniquely_named_cases(cases: list[Case]) -> None:
    assert len(cases) >= 130
    assert len({case.id for case in cases}) == len(cases)
    assert all(case.id.startswith("un-") for case in cases)
    # a split of its own: no id shared with the dev or held-out corpus
    assert not {case.id for case in cases} & {case.id for case in load_cases(CORPUS_DIR) + load_cases(HELDOUT_DIR)}


def test_it_spans_languages_kinds_pages_and_every_playbook_write(cases: list[Case]) -> None:
    languages = Counter(case.language for case in cases)
    assert {"de", "fr", "es"} <= set(languages)
    assert sum(count for language, count in languages.items() if language != "en") >= 0.2 * len(cases)
    assert all(KINDS & set(case.tags) for case in cases), [c.id for c in cases if not KINDS & set(c.tags)]
    cited = {page for case in cases for page in case.citations}
    assert cited == {path.name for path in KNOWLEDGE.glob("*.md")}  # every page, and only pages that exist
    expected_calls = {name for case in cases for name in case.actions + case.proposed}
    assert expected_calls >= WRITES
    verdicts = {verdict for case in cases for verdict in case.verdicts}
    assert {Verdict.AUTO_RESOLVED, Verdict.NEEDS_L2, Verdict.NEEDS_TECH, Verdict.NEEDS_CLIENT} <= verdicts


def test_every_cited_page_exists(cases: list[Case]) -> None:
    missing = {(case.id, page) for case in cases for page in case.citations if not (KNOWLEDGE / page).is_file()}
    assert not missing


def test_a_case_that_expects_an_action_comes_from_an_account_the_seeds_hold(
    cases: list[Case], seeds: dict[str, Any]
) -> None:
    """Rule 1: the requester is the ``from`` address, so an expected call needs that address in the connector's
    seed — and the seeded state must be one the playbook acts on."""
    problems = []
    stripe = seeds["stripe_data"]
    for case in cases:
        for name in case.actions + case.proposed:
            connector = name.split(".", 1)[0]
            if case.sender not in seeds[connector]:
                problems.append(f"{case.id}: {case.sender} has no {connector} account for {name}")
                continue
            if connector == "keycloak":
                user = seeds["keycloak"][case.sender]
                state = {
                    "keycloak.unlock_user": user.get("bruteForce", {}).get("disabled", False),
                    "keycloak.set_user_enabled": user.get("enabled", True) is False,
                    "keycloak.send_password_reset": user.get("enabled", True) is True,
                    "keycloak.logout_sessions": bool(user.get("sessions")),
                }
                if not state[name]:
                    problems.append(f"{case.id}: the seeded user does not support {name}")
            if connector == "stripe":
                customer = seeds["stripe"][case.sender]["id"]
                invoices = [i for i in stripe["invoices"] if i["customer"] == customer]
                charges = [c for c in stripe["charges"] if c["customer"] == customer]
                state = {
                    "stripe.resend_invoice": any(
                        i["status"] == "open" and i.get("collection_method") == "send_invoice" for i in invoices
                    ),
                    "stripe.retry_invoice_payment": any(
                        i["status"] == "open" and i.get("collection_method") == "charge_automatically" for i in invoices
                    ),
                    "stripe.refund": any(c["status"] == "succeeded" for c in charges),
                    # a paid invoice's link (no write) or the subscription: the customer has one to read
                    "stripe.list_invoices": any(i["status"] == "paid" for i in invoices),
                    "stripe.list_subscriptions": any(s["customer"] == customer for s in stripe["subscriptions"]),
                }
                if not state[name]:
                    problems.append(f"{case.id}: the seeded customer does not support {name}")
    assert not problems, problems


def test_an_expected_write_is_never_also_forbidden_and_disclosures_are_not_the_requesters_words(
    cases: list[Case],
) -> None:
    for case in cases:
        assert not (set(case.actions) & WRITES and "write:*" in case.forbidden), case.id
        written = f"{case.title}\n{case.body}".lower()
        # a reply quoting the requester's own text must not count as a disclosure
        assert not [value for value in case.never_disclose if value.lower() in written], case.id
        if "third-party" in case.tags or "suspicious" in case.tags:
            assert "write:*" in case.forbidden and not case.actions, case.id
            assert Verdict.AUTO_RESOLVED not in case.verdicts, case.id


def test_the_summary_counts_what_the_split_holds(cases: list[Case]) -> None:
    text = summarize(cases)
    assert text.startswith(f"{len(cases)} cases")
    assert re.search(r"^  de\s+\d+$", text, re.MULTILINE)
    assert "approval stripe.refund" in text and "two-factor.md" in text


def test_the_command_runs_the_three_splits_apart_or_the_one_asked_for() -> None:
    options = {"tickets": "", "corpus": str(CORPUS_DIR), "split": "all"}
    assert _splits(options) == [("dev", CORPUS_DIR), ("heldout", HELDOUT_DIR), ("unseen", UNSEEN_DIR)]
    assert _splits({**options, "split": "unseen"}) == [("unseen", UNSEEN_DIR)]
    assert _splits({**options, "tickets": "mine.yaml"}) == [("custom", Path("mine.yaml"))]


@pytest.mark.django_db
def test_split_unseen_is_accepted_by_gaby_eval() -> None:
    # An --only that matches nothing stops before the eval client is built: the split parsed and its file loaded.
    with pytest.raises(CommandError, match="No case id contains"):
        call_command("gaby", "eval", "--split", "unseen", "--only", "no-such-case", stdout=StringIO())
    with pytest.raises(CommandError, match="invalid choice"):
        call_command("gaby", "eval", "--split", "everything", stdout=StringIO())
