"""Redaction throughput on ticket-sized text, next to a floor measured in the same run.

Floor: one pass of a single compiled e-mail regex over the same text (what any redaction must at least
cost). Measured: the full Redactor with every pattern (checksums, overlap resolution, fixed-point passes).

    .venv/bin/python bench/redaction.py
"""

from __future__ import annotations

import random
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from apps.core.redaction import PATTERNS, Redactor

WORDS = [
    "the",
    "user",
    "cannot",
    "log",
    "in",
    "after",
    "the",
    "password",
    "reset",
    "and",
    "the",
    "invoice",
    "shows",
    "a",
    "double",
    "charge",
]
PII = [
    "jane.doe@example.com",
    "4111 1111 1111 1111",
    "GB82 WEST 1234 5698 7654 32",
    "+44 20 7946 0958",
    "10.20.30.40",
    "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
    "password=hunter2hunter2",
    "order 4111 1111 1111 1112",
]


def ticket(rng: random.Random, words: int = 400) -> str:
    out = [rng.choice(PII) if rng.random() < 0.03 else rng.choice(WORDS) for _ in range(words)]
    return " ".join(out)


def timed(fn, texts: list[str]) -> list[float]:  # type: ignore[no-untyped-def]
    samples = []
    for text in texts:
        started = time.perf_counter()
        fn(text)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def main() -> None:
    rng = random.Random(7)
    texts = [ticket(rng) for _ in range(500)]
    email = re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b")
    redactor = Redactor(PATTERNS)
    floor = timed(lambda t: email.sub("[EMAIL]", t), texts)
    full = timed(lambda t: redactor.redact(t), texts)
    size = statistics.fmean(len(t) for t in texts)
    print(f"500 tickets of ~{size:.0f} characters (~400 words, ~3% PII tokens)")
    for label, samples in (("floor: one e-mail regex", floor), ("Redactor, all 10 patterns", full)):
        ordered = sorted(samples)
        print(
            f"  {label:<28} p50 {statistics.median(ordered):6.3f} ms  p95 {ordered[int(len(ordered) * 0.95)]:6.3f} ms"
        )


if __name__ == "__main__":
    main()
