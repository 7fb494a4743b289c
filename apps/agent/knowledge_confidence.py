"""When is a knowledge passage confident enough to send to a customer? The threshold and its abstain band.

A passage's confidence (``context.passage_confidence``) alone cannot tell "the right page, phrased differently"
from "a loosely related page": with the bundled MiniLM both land around 0.35-0.40. What separates them is how far
the best page stands ahead of the **next other page** found by the same search (its margin): a question about
restoring a deleted folder finds the retention page well ahead of everything else, a question the help center
does not cover finds three pages close together.

So a passage answers when its confidence reaches the client's threshold **and** it stands at least
``MIN_MARGIN`` ahead of the next other page. Confident enough but another page nearly as close is too close to
call: an abstain band, where Gaby escalates and never guesses — whatever the score (two pages that match equally
well mean the question is ambiguous or spans both; in the calibration data every wrong answer above 0.45 had a
margin under 0.06 or was a page that only half covers the question). Below the threshold it escalates as before.

Calibrated on 2026-12-07 on the dev split and the spent first held-out split (see apps/agent/evals/corpus.py),
never on the unseen split: ``bench/knowledge_calibration.py`` replays each (threshold, margin) pair on the 171
tickets the knowledge answer decided and prints the right answers, wrong answers, right escalations and missed
answers. Old rule (0.38 alone): 122 right, 13 wrong, 15 right escalations, 21 missed; 0.33 with a 0.04 margin:
136 right, 10 wrong, 18 right escalations, 7 missed — the most tickets decided correctly among the pairs that
answer no more tickets wrongly than the old rule (margins 0.02 to 0.04 tie there; the widest was kept).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from apps.agent.contracts import Passage

MIN_MARGIN = 0.04  # how far ahead of the next other page an answering passage must stand


def page_of(passage: Passage) -> str:
    """The page a passage is from (its citation label without the section and lines)."""
    return re.split(r" § | \(lines ", passage.citation.label, maxsplit=1)[0]


@dataclass(frozen=True)
class Pick:
    """The passages one search found, best first; the best, and the best score of any other page among them."""

    passages: tuple[Passage, ...]

    @property
    def best(self) -> Passage | None:
        return self.passages[0] if self.passages else None

    @property
    def score(self) -> float:
        return self.passages[0].score if self.passages else 0.0

    @property
    def runner_up(self) -> float:
        if not self.passages:
            return 0.0
        page = page_of(self.passages[0])
        return next((p.score for p in self.passages[1:] if page_of(p) != page), 0.0)

    @property
    def margin(self) -> float:
        return round(self.score - self.runner_up, 4)

    def as_dict(self) -> dict[str, object]:
        best = self.best
        return {
            "page": page_of(best) if best else "",
            "label": best.citation.label if best else "",
            "score": self.score,
            "runner_up": self.runner_up,
            "margin": self.margin,
        }


def pick(passages: Sequence[Passage]) -> Pick:
    return Pick(tuple(sorted(passages, key=lambda p: -p.score)))


def shortfall(found: Pick, threshold: float) -> str:
    """Why ``found`` may not answer, in words an operator reads at a glance; "" when it may."""
    min_margin = MIN_MARGIN  # read per call: the calibration bench sweeps it
    best = found.best
    if best is None:
        return "the knowledge base has nothing on it"
    if found.score < threshold:
        return f"the closest, {best.citation.label}, matches {found.score:.0%}; answering needs {threshold:.0%}"
    if found.margin < min_margin:
        return (
            f"too close to call: {best.citation.label} matches {found.score:.0%} but another page matches "
            f"{found.runner_up:.0%}; answering needs it {min_margin:.0%} ahead of any other page"
        )
    return ""
