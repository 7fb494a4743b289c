"""Cost of cross-client anomaly detection (apps/observability/anomalies.py) on a day of tickets, beside floors
measured in the same run.

Synthetic tickets spread over ``--clients`` clients: everyday problems each client has on its own, plus one
problem planted at ``--planted`` clients (reworded, one quoting an error code). Printed:

* embedding the tickets with the local model, cold (what the first page view after a quiet period pays; the
  vectors are then cached per ticket), beside the floor of tokenizing the same texts only;
* grouping (connected components of the thresholded similarity matrix in numpy + shared-error joins), beside the
  floor of one bare matrix product of the same vectors;
* the baseline: one SQL statement over every client schema of the database counting, for each group spanning two
  clients or more, the clients its signature reached in the same window of each of the 4 previous weeks (the bench
  clients of bench/costs_ledger.py and bench/portal_queue.py, if present);
* what was found: the planted problem's clients, and how many other anomalies (everyday problems several clients
  happen to share).

    GABY_ENV=development .venv/bin/python bench/anomalies.py [--tickets 2000] [--clients 100] [--planted 5]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._server import setup_django

EVERYDAY = [
    "The printer on the {floor} floor is jammed again",
    "Can you add {name} to the {group} shared mailbox",
    "My laptop battery drains really fast since {day}",
    "I can't find the {thing} template on the shared drive",
    "The second monitor flickers when I dock my laptop",
    "Please set up a new starter, {name}, starting {day}",
    "Zoom says my microphone is not detected",
    "The scanner saves everything as one huge PDF",
]
PLANTED = [
    "Outlook keeps asking for my password since this morning",
    "Outlook prompts me for my password again and again",
    "Since {day} Outlook will not stop asking for my password",
    "Outlook password prompt every few minutes, error AADSTS50076",
]
FILL = {
    "floor": ["first", "second", "third"],
    "name": ["Sam Reyes", "Priya Nair", "Jon Okafor", "Lena Fischer"],
    "group": ["partners", "accounts", "reception"],
    "day": ["Monday", "yesterday", "the update"],
    "thing": ["engagement letter", "invoice", "NDA"],
}


def _text(template: str, rng: random.Random) -> str:
    return template.format(**{key: rng.choice(values) for key, values in FILL.items()})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--planted", type=int, default=5)
    args = parser.parse_args()
    setup_django()
    import numpy as np

    from apps.knowledge.embeddings import LocalMiniLM, provider_for
    from apps.observability import anomalies

    rng = random.Random(7)
    now = datetime.now(UTC)
    schemas = [f"client{n:03d}" for n in range(args.clients)]
    tickets = []
    for n in range(args.tickets):
        planted = n < args.planted * 2
        schema = schemas[n % args.planted] if planted else rng.choice(schemas)
        text = _text(rng.choice(PLANTED if planted else EVERYDAY), rng)
        tickets.append(
            anomalies.RecentTicket(
                schema=schema,
                ticket_id=str(n),
                created_at=now - timedelta(minutes=n),
                text=text,
                errors=anomalies.error_strings(text),
                words=anomalies.content_words(text),
            )
        )
    texts = [t.text for t in tickets]
    provider = provider_for("local")
    assert isinstance(provider, LocalMiniLM)
    provider.embed(texts[:8])  # load the model first: its start-up is not what a page view pays each time
    started = time.perf_counter()
    vectors = np.asarray(provider.embed(texts), dtype=np.float32)
    embed_s = time.perf_counter() - started
    runtime = provider._load()  # the tokenizer alone: the floor under embedding
    started = time.perf_counter()
    runtime.tokenizer.encode_batch(texts)
    tokenize_s = time.perf_counter() - started

    started = time.perf_counter()
    groups = anomalies._Groups(len(tickets))
    anomalies._join_similar(tickets, vectors, groups)
    anomalies._join_same_errors(tickets, groups)
    members: dict[int, set[str]] = {}
    for i, ticket in enumerate(tickets):
        members.setdefault(groups.find(i), set()).add(ticket.schema)
    group_s = time.perf_counter() - started
    started = time.perf_counter()
    vectors @ vectors.T
    matmul_s = time.perf_counter() - started

    planted_clients = set(schemas[: args.planted])
    found = [clients for clients in members.values() if planted_clients <= clients]
    spanning = [clients for clients in members.values() if len(clients) >= anomalies.MIN_CLIENTS]
    print(f"{len(tickets)} tickets over {args.clients} clients; problem planted at {args.planted} clients")
    print(f"embed (cold)   {embed_s * 1000:8.0f} ms   floor: tokenize only {tokenize_s * 1000:6.0f} ms")
    print(
        f"group          {group_s * 1000:8.0f} ms   "
        f"floor: one {len(tickets)}x{len(tickets)} matmul {matmul_s * 1000:6.0f} ms"
    )
    print(f"planted problem found as one group: {bool(found)}" + (f" ({len(found[0])} clients)" if found else ""))
    print(f"groups spanning >= {anomalies.MIN_CLIENTS} clients: {len(spanning)}")

    from apps.core import across

    groups_found = [
        anomalies.Anomaly(
            errors=anomalies._shared([t for t in tickets if t.schema in clients], "errors"),
            words=anomalies._shared([t for t in tickets if t.schema in clients], "words")[: anomalies.LABEL_WORDS],
            clients=[],
            first_seen=now,
            last_seen=now,
        )
        for clients in spanning
    ]
    real_schemas = across.client_schemas()
    anomalies.baseline(groups_found, now, timedelta(hours=24), real_schemas)  # warm
    started = time.perf_counter()
    anomalies.baseline(groups_found, now, timedelta(hours=24), real_schemas)
    baseline_s = time.perf_counter() - started
    print(
        f"baseline       {baseline_s * 1000:8.0f} ms   one statement, {len(groups_found)} signatures x "
        f"{len(real_schemas)} client schemas x 4 weeks"
    )


if __name__ == "__main__":
    main()
