"""Calibrate the knowledge answer's threshold and abstain band (apps/agent/knowledge_confidence.py).

Runs the Northwind eval's dev split and the spent first held-out split through the real engine once, with the
knowledge answer let through at a low threshold and no band, and reads each investigation's "Weighed the
knowledge answer" step: every question's best page, its confidence and its margin over the next page. Then, for
each (threshold, margin, sure-above) of a grid, it replays the rule on those figures and counts, over the cases the
knowledge answer decided:

- right: answered, and the case expects an answer from the cited pages;
- wrong: answered, but the case expects an escalation or another page (a wrong answer sent to a customer);
- escalated: not answered (right when the case expects an escalation, a missed answer otherwise).

The floor, measured in the same run, is the old rule: the threshold alone at 0.38. The unseen split is never
read here.

    GABY_ENV=development .venv/bin/python bench/knowledge_calibration.py [--json PATH]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gaby_site.settings")

LOW = 0.2  # let every plausible answer through once, then replay the rule offline


def collect() -> list[dict[str, Any]]:
    import django

    django.setup()
    from django_tenants.utils import tenant_context

    from apps.agent import knowledge_confidence
    from apps.agent.evals.corpus import CORPUS_DIR, HELDOUT_DIR, load_cases
    from apps.agent.evals.environment import build
    from apps.agent.evals.runner import run_case
    from apps.agent.models import Investigation, InvestigationStep

    shipped, knowledge_confidence.MIN_MARGIN = knowledge_confidence.MIN_MARGIN, 0.0
    env = build(knowledge_threshold=LOW)
    rows: list[dict[str, Any]] = []
    try:
        for split, directory in (("dev", CORPUS_DIR), ("heldout", HELDOUT_DIR)):
            for case in load_cases(directory):
                result = run_case(env, case, run=1)
                if result.observation.decided_by != "knowledge":
                    continue
                with tenant_context(env.client):
                    investigation = Investigation.objects.filter(ticket__external_id=f"{case.id}#1").latest(
                        "created_at"
                    )
                    step = (
                        InvestigationStep.objects.filter(
                            investigation=investigation, title="Weighed the knowledge answer"
                        )
                        .order_by("-ordinal")
                        .first()
                    )
                if step is None or not isinstance(step.data, dict):
                    continue
                rows.append(
                    {
                        "split": split,
                        "case": case.id,
                        "expects_answer": case.accepts("auto_resolved"),
                        "cited_ok": result.citations_ok is not False,
                        "parts": step.data["parts"],
                    }
                )
    finally:
        env.close()
        knowledge_confidence.MIN_MARGIN = shipped
    return rows


def answers(row: dict[str, Any], threshold: float, margin: float) -> bool:
    return bool(row["parts"]) and all(p["score"] >= threshold and p["margin"] >= margin for p in row["parts"])


def tally(rows: list[dict[str, Any]], threshold: float, margin: float) -> dict[str, int]:
    counts = {"right": 0, "wrong": 0, "escalated_right": 0, "missed": 0}
    for row in rows:
        good_answer = row["expects_answer"] and row["cited_ok"]
        if answers(row, threshold, margin):
            counts["right" if good_answer else "wrong"] += 1
        else:
            counts["missed" if good_answer else "escalated_right"] += 1
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", default="", help="Also write every decision's figures here.")
    args = parser.parse_args()
    rows = collect()
    floor = tally(rows, 0.38, 0.0)
    print(f"{len(rows)} tickets decided by the knowledge answer (dev + spent held-out)")
    print(f"floor, the old rule (threshold 0.38, no band): {floor}")
    grid = []
    for threshold, margin in itertools.product(
        [0.30, 0.32, 0.33, 0.34, 0.35, 0.36, 0.38, 0.40], [0.0, 0.02, 0.03, 0.04, 0.05, 0.06, 0.08]
    ):
        grid.append(((threshold, margin), tally(rows, threshold, margin)))
    fair = [item for item in grid if item[1]["wrong"] <= floor["wrong"]]
    fair.sort(key=lambda item: (-(item[1]["right"] + item[1]["escalated_right"]), item[1]["wrong"], -item[0][0]))
    print("best (threshold, margin) among those answering no more tickets wrongly than the floor:")
    for (threshold, margin), counts in fair[:12]:
        print(f"  threshold {threshold:.2f} margin {margin:.2f}  {counts}")
    from apps.agent.knowledge_confidence import MIN_MARGIN
    from apps.agent.models import AgentSettings

    threshold = float(AgentSettings._meta.get_field("knowledge_threshold").default)
    print(f"shipped (threshold {threshold:.2f}, margin {MIN_MARGIN:.2f}): {tally(rows, threshold, MIN_MARGIN)}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
