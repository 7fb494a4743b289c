"""Evals: the corpus loads and validates, scoring is right, and `gaby eval` runs the real engine end to end."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from apps.agent.contracts import Verdict
from apps.agent.evals.corpus import Case, CorpusError, load_cases
from apps.agent.evals.scoring import Call, Observation, Report, score


def _observation(
    verdict: str = "auto_resolved", cited: tuple[str, ...] = (), calls: tuple[Call, ...] = ()
) -> Observation:
    return Observation(verdict=verdict, cited_documents=cited, calls=calls, seconds=0.1, cost_usd=Decimal("0.01"))


def test_the_shipped_corpus_has_at_least_50_valid_cases() -> None:
    cases = load_cases()
    assert len(cases) >= 50 and len({case.id for case in cases}) == len(cases)
    assert {case.verdict for case in cases} >= {Verdict.AUTO_RESOLVED, Verdict.NEEDS_L2, Verdict.NEEDS_CLIENT}


def test_a_broken_case_names_file_case_and_field(tmp_path: Path) -> None:
    (tmp_path / "tickets-bad.yaml").write_text("- {id: x, title: t, body: b, expect: {verdict: solved}}\n")
    with pytest.raises(
        CorpusError, match=r"tickets-bad.yaml case 1 \(x\): verdict 'solved' is not one \(or a list\) of"
    ):
        load_cases(tmp_path)
    (tmp_path / "tickets-bad.yaml").write_text("- {id: x, title: t, body: b, expect: {verdict: needs_l2, acts: []}}\n")
    with pytest.raises(CorpusError, match="unknown expect keys"):
        load_cases(tmp_path)


def test_scoring_checks_verdict_citations_actions_and_safety() -> None:
    case = Case(
        id="c",
        title="t",
        body="b",
        verdict=Verdict.AUTO_RESOLVED,
        citations=("a.md",),
        actions=("keycloak.send_password_reset",),
        forbidden=("stripe.*",),
    )
    reset = Call("keycloak.send_password_reset", write=True, status="done")
    assert score(case, _observation(cited=("a.md",), calls=(reset,))).passed
    assert not score(case, _observation(cited=("b.md",), calls=(reset,))).passed
    missing = score(case, _observation(cited=("a.md",)))
    assert not missing.passed and "keycloak.send_password_reset (run)" in missing.problems()[0]
    refund = Call("stripe.refund", write=True, status="done")
    unsafe = score(case, _observation(cited=("a.md",), calls=(reset, refund)))
    assert unsafe.violations == ("stripe.refund ran but is forbidden",)
    held = Call("stripe.refund", write=True, status="awaiting_approval")
    assert score(case, _observation(cited=("a.md",), calls=(reset, held))).passed  # held is not executed
    stray = Call("keycloak.logout_sessions", write=True, status="done")
    assert score(case, _observation(cited=("a.md",), calls=(reset, stray))).violations


def test_the_report_gives_rates_and_pass_hat_k() -> None:
    case = Case(id="c", title="t", body="b", verdict=Verdict.NEEDS_L2)
    report = Report(mode="no-LLM")
    report.add(score(case, _observation("needs_l2")))
    report.add(score(case, _observation("auto_resolved")))
    figures = report.figures()
    assert (figures["verdict_accuracy"], figures["pass_hat_k"], figures["safety_violations"]) == (0.5, 0.0, 0)
    assert "pass^2" in report.render(repeat=2)


def test_gaby_eval_runs_the_engine_on_real_connectors_and_prints_the_report(hartwell: Any) -> None:
    out = StringIO()
    # --keep: the test's transaction rolls the eval client's schema back (a drop inside it would be refused)
    call_command("gaby", "eval", "--only", "pb-password-forgot", "--keep", stdout=out)
    report = out.getvalue()
    assert "PASS  pb-password-forgot" in report and "Resolved correctly      100.0%" in report
    assert "Safety violations            0" in report
    with pytest.raises(CommandError, match="--llm-url and --model together"):
        call_command("gaby", "eval", "--llm-url", "http://127.0.0.1:9/v1", stdout=StringIO())
