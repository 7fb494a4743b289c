"""``manage.py gaby eval``: run the eval corpus and print the report (no-LLM by default, or any
OpenAI-compatible endpoint with ``--llm-url``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from apps.agent.evals.corpus import CORPUS_DIR, CorpusError, load_cases
from apps.agent.evals.environment import LLMSettings, build
from apps.agent.evals.runner import run_eval
from apps.agent.evals.scoring import CaseResult


def register(subparsers: Any, command: BaseCommand) -> None:
    parser = subparsers.add_parser(
        "eval", help="Run the eval corpus through the real engine and report resolution, accuracy and safety."
    )
    parser.add_argument("--llm-url", default="", help="An OpenAI-compatible base URL; without it, no-LLM mode.")
    parser.add_argument("--model", default="", help="The model name at --llm-url (required with it).")
    parser.add_argument("--api-key", default="", help="The endpoint's API key, if it needs one.")
    parser.add_argument("--repeat", type=int, default=1, help="Runs per ticket; the report adds pass^k.")
    parser.add_argument("--only", default="", help="Only the cases whose id contains this text.")
    parser.add_argument("--corpus", default=str(CORPUS_DIR), help="A directory with tickets-*.yaml and the seeds.")
    parser.add_argument(
        "--tickets",
        default="",
        help="Cases from this file or directory instead (held-out tickets); "
        "the knowledge and connector seeds still come from --corpus.",
    )
    parser.add_argument("--json", dest="json_path", default="", help="Also write the figures and cases as JSON.")
    parser.add_argument(
        "--hostile",
        action="store_true",
        help="Feed the hostile-ticket corpus (apps/safety/corpus) "
        "through the LLM loop instead: nothing may get past the safety gate (needs --llm-url).",
    )
    parser.add_argument("--keep", action="store_true", help="Keep the eval client afterwards to inspect it.")
    parser.set_defaults(handler=run_command)


def run_command(command: BaseCommand, options: dict[str, Any]) -> None:
    if options["repeat"] < 1:
        raise CommandError("--repeat must be 1 or more.")
    if bool(options["llm_url"]) != bool(options["model"]):
        raise CommandError("Give --llm-url and --model together (or neither, for no-LLM mode).")
    if options["hostile"]:
        run_hostile_command(command, options)
        return
    corpus = Path(options["corpus"])
    try:
        cases = load_cases(Path(options["tickets"] or corpus), only=options["only"])
    except CorpusError as exc:
        raise CommandError(str(exc)) from None
    if not cases:
        raise CommandError(f"No case id contains {options['only']!r}.")
    llm = LLMSettings(options["llm_url"], options["model"], options["api_key"]) if options["llm_url"] else None
    mode = f"LLM {llm.model} at {llm.url}" if llm else "no-LLM"
    command.stdout.write(f"Building the eval client ({len(cases)} tickets, {mode})...")
    env = build(llm=llm, corpus=corpus)

    def progress(result: CaseResult) -> None:
        command.stdout.write(f"  {'pass' if result.passed else 'FAIL'} {result.case.id}")

    try:
        report = run_eval(env, cases, repeat=options["repeat"], mode=mode, progress=progress)
    finally:
        env.close(keep=options["keep"])
    command.stdout.write("")
    command.stdout.write(report.render(repeat=options["repeat"]))
    if options["keep"]:
        command.stdout.write(f"\nKept the eval client: {env.client.slug}")
    if options["json_path"]:
        payload = {
            "mode": mode, "figures": report.figures(),
            "cases": {cid: [{"passed": r.passed, "verdict": r.observation.verdict, "problems": r.problems()}
                            for r in results] for cid, results in report.runs.items()},
        }  # fmt: skip
        Path(options["json_path"]).write_text(json.dumps(payload, indent=2), encoding="utf-8")


def run_hostile_command(command: BaseCommand, options: dict[str, Any]) -> None:
    from apps.agent.evals.hostile import build_hostile, run_hostile

    if not options["llm_url"]:
        raise CommandError("--hostile tests what a model does with injected instructions: give --llm-url and --model.")
    llm = LLMSettings(options["llm_url"], options["model"], options["api_key"])
    mode = f"LLM {llm.model} at {llm.url}"
    command.stdout.write(f"Building the hostile eval client ({mode})...")
    env, journal = build_hostile(llm=llm)
    try:
        report = run_hostile(env, journal, mode=mode, only=options["only"])
    finally:
        env.close(keep=options["keep"])
    command.stdout.write("")
    command.stdout.write(report.render())
    if options["keep"]:
        command.stdout.write(f"\nKept the eval client: {env.client.slug}")
    if options["json_path"]:
        payload = {"mode": mode, "figures": report.figures(),
                   "tickets": {r.ticket.id: {"passed": r.passed, "verdict": r.verdict, "calls": r.calls,
                                             "problems": r.problems()} for r in report.results}}  # fmt: skip
        Path(options["json_path"]).write_text(json.dumps(payload, indent=2), encoding="utf-8")
