"""``manage.py gaby eval``: run the eval corpus and print the report (no-LLM by default, or any
OpenAI-compatible endpoint with ``--llm-url``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from apps.agent.evals.corpus import CORPUS_DIR, HELDOUT_DIR, HELDOUT_LABEL, UNSEEN_DIR, Case, CorpusError, load_cases
from apps.agent.evals.environment import LLMSettings, build
from apps.agent.evals.hostile import build_hostile, run_hostile
from apps.agent.evals.msp.environment import (
    MSP_CORPUS_DIR,
    MSP_HELDOUT_DIR,
    MSP_UNSEEN_DIR,
    WorldError,
    build_msp,
)
from apps.agent.evals.runner import run_eval
from apps.agent.evals.scoring import CaseResult, Report

# dev: tune on it; heldout: the first held-out split, now spent (tuned on since 2026-12-07); unseen: written blind to
# the engine, run once per landing — the true held-out split.
SPLITS = ("dev", "heldout", "unseen")
# Each world's split directories: Northwind (a SaaS founder's stack) and an MSP's law-firm and accounting clients.
WORLDS = {
    "northwind": {"dev": CORPUS_DIR, "heldout": HELDOUT_DIR, "unseen": UNSEEN_DIR},
    "msp": {"dev": MSP_CORPUS_DIR, "heldout": MSP_HELDOUT_DIR, "unseen": MSP_UNSEEN_DIR},
}


def register(subparsers: Any, command: BaseCommand) -> None:
    parser = subparsers.add_parser(
        "eval", help="Run the eval corpus through the real engine and report resolution, accuracy and safety."
    )
    parser.add_argument("--llm-url", default="", help="An OpenAI-compatible base URL; without it, no-LLM mode.")
    parser.add_argument("--model", default="", help="The model name at --llm-url (required with it).")
    parser.add_argument("--api-key", default="", help="The endpoint's API key, if it needs one.")
    parser.add_argument("--repeat", type=int, default=1, help="Runs per ticket; the report adds pass^k.")
    parser.add_argument("--only", default="", help="Only the cases whose id contains this text.")
    parser.add_argument(
        "--world",
        choices=tuple(WORLDS),
        default="northwind",
        help="northwind (default): Keycloak, Stripe, a shop database and a SaaS help center; msp: two law-firm and "
        "accounting clients on Microsoft 365 and NinjaOne stand-ins with their own help centers.",
    )
    parser.add_argument(
        "--corpus", default="", help="A directory with tickets-*.yaml and the seeds (default: the world's own)."
    )
    parser.add_argument(
        "--split",
        choices=(*SPLITS, "all"),
        default="all",
        help="dev: the corpus the rules may be tuned on; heldout: the first held-out split, spent (its failures were "
        "read and rules tuned on it since 2026-12-07); unseen: tickets written blind to the engine, run once per "
        "landing (the true held-out split); all (default): the three, reported apart.",
    )
    parser.add_argument(
        "--tickets",
        default="",
        help="Cases from this file or directory instead (held-out tickets); "
        "the knowledge and connector seeds still come from --corpus.",
    )
    parser.add_argument(
        "--knowledge-threshold",
        type=float,
        default=None,
        help="The knowledge answer's confidence threshold to evaluate (default: what a new client gets).",
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


def _corpus(options: dict[str, Any]) -> Path:
    return Path(options["corpus"]) if options.get("corpus") else WORLDS[options.get("world", "northwind")]["dev"]


def _splits(options: dict[str, Any]) -> list[tuple[str, Path]]:
    if options["tickets"]:
        return [("custom", Path(options["tickets"]))]
    world = options.get("world", "northwind")
    named = {**WORLDS[world], "dev": _corpus(options)}
    if options["split"] != "all" and options["split"] not in named:
        raise CommandError(f"The {world} world has no {options['split']} split: use {', '.join(named)} or all.")
    return [(name, named[name]) for name in SPLITS if name in named and options["split"] in ("all", name)]


def run_command(command: BaseCommand, options: dict[str, Any]) -> None:
    if options["repeat"] < 1:
        raise CommandError("--repeat must be 1 or more.")
    threshold = options.get("knowledge_threshold")
    if threshold is not None and not 0 < threshold <= 1:
        raise CommandError("--knowledge-threshold is a confidence in (0, 1], e.g. 0.45.")
    if bool(options["llm_url"]) != bool(options["model"]):
        raise CommandError("Give --llm-url and --model together (or neither, for no-LLM mode).")
    if options["hostile"]:
        run_hostile_command(command, options)
        return
    splits: list[tuple[str, list[Case]]] = []
    for name, path in _splits(options):
        try:
            cases = load_cases(path, only=options["only"])
        except CorpusError as exc:
            raise CommandError(str(exc)) from None
        if cases:
            splits.append((name, cases))
    if not splits:
        raise CommandError(f"No case id contains {options['only']!r}.")
    llm = LLMSettings(options["llm_url"], options["model"], options["api_key"]) if options["llm_url"] else None
    mode = f"LLM {llm.model} at {llm.url}" if llm else "no-LLM"
    total = sum(len(cases) for _, cases in splits)
    command.stdout.write(f"Building the eval client ({total} tickets, {mode})...")
    make = build_msp if options.get("world") == "msp" else build
    try:
        env = make(llm=llm, corpus=_corpus(options), knowledge_threshold=options["knowledge_threshold"])
    except WorldError as exc:
        raise CommandError(str(exc)) from None

    def progress(result: CaseResult) -> None:
        command.stdout.write(f"  {'pass' if result.passed else 'FAIL'} {result.case.id}")

    reports: dict[str, Report] = {}
    try:
        for name, cases in splits:
            reports[name] = run_eval(env, cases, repeat=options["repeat"], mode=mode, progress=progress)
    finally:
        env.close(keep=options["keep"])
    for name, report in reports.items():
        command.stdout.write("")
        command.stdout.write(f"=== {split_label(name, options)} split ===")
        command.stdout.write(report.render(repeat=options["repeat"]))
    command.stdout.write("")
    command.stdout.write(summary_table(reports))
    if "heldout" in reports and split_label("heldout", options) != "heldout":
        command.stdout.write(f"  (heldout = {HELDOUT_LABEL}: read its figures as tuning figures, not held-out ones)")
    if options["keep"]:
        command.stdout.write(f"\nKept the eval client: {env.client.slug}")
    if options["json_path"]:
        Path(options["json_path"]).write_text(json.dumps(_payload(mode, reports), indent=2), encoding="utf-8")


def split_label(name: str, options: dict[str, Any]) -> str:
    """How a split is named in the report: Northwind's first held-out split says it is spent."""
    spent = name == "heldout" and options.get("world", "northwind") == "northwind" and not options.get("corpus")
    return HELDOUT_LABEL if spent else name


def summary_table(reports: dict[str, Report]) -> str:
    """Resolved correctly, safety violations and disclosures per split and per language; auto-resolved correctly
    over all tickets and over the tickets Gaby may close (closable: the share of those, the first figure's cap)."""
    lines = [
        f"  {'split':<10} {'language':<9} {'cases':>6} {'resolved':>9} {'violations':>11} {'disclosures':>12} "
        f"{'auto-resolved':>14} {'of closable':>12} {'closable':>9} {'or 1 approval':>14}"
    ]
    for name, report in reports.items():
        rows = [("all", report), *sorted(report.by_language().items())]
        for language, part in rows:
            figures = part.figures()
            lines.append(
                f"  {name:<10} {language:<9} {figures['cases']:>6.0f} {figures['resolved_correctly']:>9.1%} "
                f"{figures['safety_violations']:>11.0f} {figures['disclosures']:>12.0f} "
                f"{figures['auto_resolved_correctly']:>14.1%} {figures['auto_resolved_correctly_of_expected']:>12.1%} "
                f"{figures['auto_resolvable']:>9.1%} {figures['done_or_one_approval']:>14.1%}"
            )
    return "\n".join(lines)


def _payload(mode: str, reports: dict[str, Report]) -> dict[str, Any]:
    def cases(report: Report) -> dict[str, Any]:
        return {
            cid: [
                {
                    "passed": r.passed,
                    "verdict": r.observation.verdict,
                    "kind": r.observation.kind,
                    "language": r.case.language,
                    "problems": r.problems(),
                    "reason": r.observation.reason,
                }
                for r in results
            ]
            for cid, results in report.runs.items()
        }

    splits = {
        name: {
            "figures": report.figures(),
            "cases": cases(report),
            "by_language": {lang: part.figures() for lang, part in report.by_language().items()},
        }
        for name, report in reports.items()
    }
    first = next(iter(splits.values()))
    # "figures" and "cases" of the first split stay at the top level for tools that read a single report.
    return {"mode": mode, "figures": first["figures"], "cases": first["cases"], "splits": splits}


def run_hostile_command(command: BaseCommand, options: dict[str, Any]) -> None:
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
        payload = {
            "mode": mode,
            "figures": report.figures(),
            "tickets": {
                r.ticket.id: {"passed": r.passed, "verdict": r.verdict, "calls": r.calls, "problems": r.problems()}
                for r in report.results
            },
        }
        Path(options["json_path"]).write_text(json.dumps(payload, indent=2), encoding="utf-8")
