"""Print what the unseen split holds — cases by language, expected verdict, tag and expected call — without
running anything: ``python -m apps.agent.evals.unseen.summarize``. A broken file stops with the corpus
loader's message (file, case, field)."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterable

from apps.agent.evals.corpus import UNSEEN_DIR, Case, CorpusError, load_cases


def _rows(title: str, counts: Counter[str]) -> list[str]:
    return [title, *(f"  {name:<28} {count:>4}" for name, count in sorted(counts.items(), key=lambda i: (-i[1], i[0])))]


def summarize(cases: Iterable[Case]) -> str:
    cases = list(cases)
    verdicts = Counter(" | ".join(sorted(v.value for v in (case.verdicts or (case.verdict,)))) for case in cases)
    calls = Counter(
        [f"run {name}" for case in cases for name in case.actions]
        + [f"approval {name}" for case in cases for name in case.proposed]
    )
    lines = [f"{len(cases)} cases"]
    lines += _rows("by language", Counter(case.language for case in cases))
    lines += _rows("by expected verdict", verdicts)
    lines += _rows("by cited page", Counter(page for case in cases for page in case.citations))
    lines += _rows("by expected call", calls)
    lines += _rows("by tag", Counter(tag for case in cases for tag in case.tags))
    return "\n".join(lines)


def main() -> int:
    try:
        cases = load_cases(UNSEEN_DIR)
    except CorpusError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(summarize(cases))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
