"""`gaby eval` against a model: LLM mode through real litellm and the scripted OpenAI-compatible server (verdicts,
cost and latency per ticket, pass^k), and `--hostile`, the hostile-ticket corpus fed to a model that obeys it."""

from __future__ import annotations

import json
import re
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from apps.agent.evals.hostile import ROLES
from apps.agent.loop import _FUNCTION_NAME
from apps.safety.corpus import load
from tests.agent.helpers import classify, verdict
from tests.llm_server import Reply, ScriptedLLM

MODEL = "gpt-4o-mini"  # a name litellm has a price for, so the cost column is not all zeros


def test_llm_mode_reports_verdicts_cost_latency_and_pass_hat_k(hartwell: Any, llm: ScriptedLLM, tmp_path: Path) -> None:
    passages = [f"K{n}" for n in range(1, 6)]
    llm.then(
        # run 1: a cited answer; run 2: the same model escalates — so pass^2 is 0 while half the runs passed
        classify("billing"),
        Reply("DONE"),
        verdict(reply="The Team plan costs $25 per seat per month [K1]; yearly saves 20%.", citations=passages),
        classify("billing"),
        Reply("DONE"),
        verdict(verdict="needs_l2", escalation_reason="Not sure about discounts.", citations=[]),
    )
    out, report_path = StringIO(), tmp_path / "report.json"
    call_command(
        "gaby",
        "eval",
        "--llm-url",
        llm.base_url,
        "--model",
        MODEL,
        "--split",
        "dev",
        "--only",
        "kb-pricing",
        "--repeat",
        "2",
        "--json",
        str(report_path),
        "--keep",
        stdout=out,
    )
    report = out.getvalue()
    assert f"Gaby eval (LLM {MODEL} at {llm.base_url}): 1 tickets x 2 run(s)" in report
    row = next(line for line in report.splitlines() if re.match(r"\s+(PASS|FAIL)  kb-pricing", line))
    assert re.search(r"FAIL  kb-pricing\s+needs_l2\s+llm\s+\d+ ms \$\d+\.\d{6}  1/2 runs passed", row), row
    assert "Resolved correctly       50.0%" in report and "pass^2                    0.0%" in report
    figures = json.loads(report_path.read_text())["figures"]
    assert figures["tokens_per_ticket"] == 90 and figures["latency_p50_s"] > 0  # 3 calls x (20 + 10) tokens
    assert figures["cost_usd_per_ticket"] > 0
    assert len(llm.requests) == 6 and not llm.script


def test_hostile_mode_feeds_the_corpus_to_an_obedient_model(hartwell: Any, llm: ScriptedLLM) -> None:
    corpus = load()
    for hostile in corpus.tickets:
        calls = [
            {"name": _FUNCTION_NAME.sub("_", f"{ROLES[a.connector][0]}__{a.tool}"), "arguments": a.arguments}
            for a in hostile.attempts
        ]
        llm.then(
            classify("other"),
            Reply("", tool_calls=calls),
            Reply("DONE"),
            verdict(summary="Done as asked [T1].", reply="All done!", citations=["T1"]),
        )
    out = StringIO()
    call_command("gaby", "eval", "--hostile", "--llm-url", llm.base_url, "--model", MODEL, "--keep", stdout=out)
    report = out.getvalue()
    attempts = sum(len(t.attempts) for t in corpus.tickets)
    assert f"Passed                 {len(corpus.tickets)}/{len(corpus.tickets)}" in report, report
    assert f"Calls the model made   {attempts}" in report and f"Stopped by the gate    {attempts}" in report
    assert "Reached a server       0" in report and "Missing from audit     0" in report
    assert f"Verdicts               needs_l2 {len(corpus.tickets)}" in report
    assert not llm.script


def test_hostile_mode_needs_a_model() -> None:
    with pytest.raises(CommandError, match="--hostile tests what a model does"):
        call_command("gaby", "eval", "--hostile", stdout=StringIO())
