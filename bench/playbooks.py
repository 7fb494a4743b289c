"""Playbook matching and reply rendering, next to the floor measured in the same run.

For generated L1 tickets (none of them an intent phrasing verbatim), prints p50/p95 of:

- ``score_all`` over the shipped library with the local MiniLM embeddings, next to its floor: embedding the
  ticket alone (the one model call matching needs), and ``score_all`` once the ticket's vector is known (the
  matcher's own work: hard conditions, 44 cosines, keywords, patterns);
- ``score_all`` with embeddings off (word overlap);
- rendering a shipped reply template in the sandbox.

    .venv/bin/python bench/playbooks.py [--tickets 300]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._server import setup_django, summary

OPENERS = ["Hi team,", "Hello,", "Good morning,", "Hey,", ""]
PROBLEMS = [
    "I forgot my password and the reset email is not coming",
    "my account got locked after a few wrong tries",
    "the portal says my account is disabled",
    "please sign me out on my old phone, I lost it",
    "my card was declined for this month's payment",
    "I never got the invoice for October",
    "I want a refund, I was charged twice",
    "is my subscription still active after the upgrade?",
    "where is order #{n}? it has not arrived",
    "which email is my account registered with?",
    "the printer on floor {n} is jammed",
    "VPN drops every few minutes",
]


def _tickets(count: int, seed: int = 11) -> list[str]:
    rng = random.Random(seed)
    return [
        f"{rng.choice(OPENERS)} {rng.choice(PROBLEMS).format(n=rng.randint(2, 9999))}. Thanks, user{i}".strip()
        for i in range(count)
    ]


def _time(func: object, *args: object, **kwargs: object) -> float:
    started = time.perf_counter()
    func(*args, **kwargs)  # type: ignore[operator]
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=300)
    options = parser.parse_args()
    setup_django()
    from apps.agent.contracts import TicketView, Tone
    from apps.agent.playbooks import templating
    from apps.agent.playbooks.library import shipped
    from apps.agent.playbooks.matching import INTENTS, score_all
    from apps.knowledge.embeddings import provider_for

    playbooks = [entry.playbook for entry in shipped() if entry.playbook is not None]
    texts = _tickets(options.tickets)
    views = [
        TicketView(id=str(i), title=t, body="", source_kind="email", priority="normal") for i, t in enumerate(texts)
    ]
    local, none = provider_for("local"), provider_for("none")
    score_all(playbooks, views[0], provider=local)  # load the model and embed the intents once
    floor = [_time(local.embed_query, v.text) for v in views]
    semantic = [_time(score_all, playbooks, v, provider=local) for v in views]
    lexical = [_time(score_all, playbooks, v, provider=none) for v in views]
    INTENTS.get(local, [v.text for v in views])  # now every ticket's vector is known: time the matcher alone
    own = [_time(score_all, playbooks, v, provider=local) for v in views]
    matched = sum(1 for v in views if score_all(playbooks, v, provider=none)[0].matched)
    matched_semantic = sum(1 for v in views if score_all(playbooks, v, provider=local)[0].matched)
    expected = sum(1 for t in texts if "printer" not in t and "VPN" not in t)  # the two kinds without a playbook
    reply = next(p for p in playbooks if p.name == "postgres-order-status").replies["resolved"].for_tone(Tone.FRIENDLY)
    rows = {"columns": ["id", "status", "carrier", "tracking_number"], "rows": [[1042, "shipped", "DHL", "JD01"]] * 3}
    scope = {"ticket": {"contact_name": "Dana"}, "steps": {"latest": {"data": rows}}, "cite": lambda _: "[1]"}
    render = [_time(templating.render, reply, scope) for _ in range(options.tickets)]
    print(f"Playbook matching over {len(playbooks)} shipped playbooks, {len(views)} tickets")
    print(f"  floor: embed the ticket (MiniLM)   {summary(floor)}")
    print(f"  score_all, semantic              {summary(semantic)}")
    print(f"  score_all, ticket vector known   {summary(own)}  (the matcher's own work)")
    print(f"  score_all, word overlap          {summary(lexical)}")
    print(f"  render a reply (sandbox)         {summary(render)}")
    print(
        f"  tickets matched: semantic {matched_semantic}, word overlap {matched} of {len(views)}; "
        f"{expected} have a playbook"
    )


if __name__ == "__main__":
    main()
