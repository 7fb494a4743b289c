"""One HaloPSA connection feeding several clients, end to end: mapping, polls into each schema, exactly-once replies.

The HaloPSA stand-in (sandbox/halopsa.py) serves ``--companies`` Halo clients with ``--tickets`` tickets each
(two actions a ticket). The bench maps each company to its own Gaby client in one step (``connect_clients``),
times the first poll of every source (all new), then a second poll (nothing changed), then delivers
``--replies`` replies while the stand-in loses the answer of every ``--lose-every``-th write (Halo saves the
action, the gateway answers 504) and counts what Halo holds: duplicates and losses. Floor: the same read
requests (token, ticket pages, actions, users) made with bare httpx and ``json.loads`` in the same run.

    GABY_ENV=development .venv/bin/python bench/halopsa.py [--companies 3] [--tickets 100] [--replies 60]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import _psa
from bench._server import setup_django

PAGE = 50
START = datetime(2026, 11, 16, 9, tzinfo=UTC)


def seed(companies: int, tickets: int) -> dict[str, Any]:
    clients = [{"id": 100 + c, "name": f"Bench Company {c}", "inactive": False} for c in range(companies)]
    users = [
        {
            "id": 1000 + c * 10 + u,
            "name": f"User {c}-{u}",
            "emailaddress": f"u{u}@c{c}.bench.example",
            "client_id": 100 + c,
        }
        for c in range(companies)
        for u in range(5)
    ]
    rows = []
    for c in range(companies):
        for t in range(tickets):
            number = 10_000 + c * tickets + t
            rows.append(
                {
                    "id": number,
                    "summary": f"Bench ticket {number}: printer on floor {t % 7} offline",
                    "details": "It shows error 49 after the firmware update.",
                    "client_id": 100 + c,
                    "user_id": 1000 + c * 10 + t % 5,
                    "status_id": 2,
                    "priority_id": 3,
                    "agent_id": 0,
                    "dateoccurred": "2026-11-16T09:00:00Z",
                    "last_update": (START + timedelta(minutes=t)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "actions": [
                        {
                            "id": number * 10 + a,
                            "outcome": "Email User",
                            "note": f"Action {a}",
                            "who": "Tech",
                            "who_agentid": 5,
                            "hiddenfromuser": a == 1,
                            "datetime": "2026-11-16T09:30:00Z",
                        }
                        for a in range(2)
                    ],
                }
            )
    return {
        "tenant": "bench",
        "applications": {"gaby-bench": "bench-secret"},
        "clients": clients,
        "users": users,
        "agents": [{"id": 1, "name": "Gaby (API)", "email": "gaby@bench.example"}],
        "tickets": rows,
    }


def floor(url: str, companies: int, tickets: int) -> float:
    import httpx

    started = time.perf_counter()
    with httpx.Client(base_url=url) as http:
        form = {"grant_type": "client_credentials", "client_id": "gaby-bench", "client_secret": "bench-secret"}
        token = json.loads(http.post("/auth/token", data={**form, "scope": "all"}).content)["access_token"]
        http.headers["Authorization"] = f"Bearer {token}"
        for c in range(companies):
            users: set[int] = set()
            for page in range(1, -(-tickets // PAGE) + 1):
                params: dict[str, str | int] = {
                    "client_id": 100 + c,
                    "pageinate": "true",
                    "page_size": PAGE,
                    "page_no": page,
                }
                for row in json.loads(http.get("/api/Tickets", params=params).content)["tickets"]:
                    json.loads(http.get("/api/Actions", params={"ticket_id": row["id"]}).content)
                    if row["user_id"] not in users:
                        users.add(row["user_id"])
                        json.loads(http.get(f"/api/Users/{row['user_id']}").content)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--companies", type=int, default=3)
    parser.add_argument("--tickets", type=int, default=100)
    parser.add_argument("--replies", type=int, default=60)
    parser.add_argument("--lose-every", type=int, default=4)
    args = parser.parse_args()
    setup_django()
    from django_tenants.utils import tenant_context

    from apps.tickets.halopsa_mapping import LINK
    from apps.tickets.models import Ticket
    from apps.tickets.psa_mapping import connect_clients
    from sandbox.halopsa import HaloPSASandbox

    clients = _psa.fresh_clients("halobench", "Halo Bench", args.companies, "halopsa")

    with HaloPSASandbox(seed(args.companies, args.tickets)) as halo:
        connection = {
            "base_url": halo.base_url,
            "tenant": "bench",
            "client_id": "gaby-bench",
            "client_secret": "bench-secret",
        }
        started = time.perf_counter()
        made = connect_clients(
            LINK, connection=connection, mapping={100 + c: clients[c] for c in range(args.companies)}
        )
        mapped = time.perf_counter() - started
        # The second poll asks only for tickets updated since the first one's high-water mark (Halo's startdate is
        # inclusive, so the last ticket is read again): it is not the same work as the floor's full read.
        runs = _psa.timed_polls(made)
        leaked = 0
        for index, item in enumerate(made):
            with tenant_context(item.client):
                leaked += Ticket.objects.exclude(external_id__in=[str(t) for t in _ids_of(halo, 100 + index)]).count()
        tokens = halo.tokens_issued

        # Replies with lost answers: Halo saves the action, the gateway answers 504.
        delivering, retried = _psa.replies_with_lost_answers(
            made[0],
            replies=args.replies,
            lose_every=args.lose_every,
            lose=lambda ticket: halo.lose_next_answer("POST", "/api/Actions"),
        )
        notes = [a["note"] for a in halo.actions.values() if str(a["note"]).startswith("Bench reply ")]
        duplicates = len(notes) - len(set(notes))
        lost = args.replies - len(set(notes))

    base = floor_with_fresh_sandbox(args.companies, args.tickets)
    total = args.companies * args.tickets
    print(
        f"HaloPSA: {args.companies} Halo clients x {args.tickets} tickets (2 actions each), "
        f"mapped to {args.companies} Gaby clients"
    )
    print(f"  mapping in one step (credentials, client list, {args.companies} sealed sources) {mapped:7.2f} s")
    _psa.print_polls(runs, total=total, floor=base)
    print(f"  tokens minted for all sources: {tokens}; tickets of another company in a client: {leaked}")
    print(
        f"  {args.replies} replies, every {args.lose_every}th answer lost ({retried} retried): {delivering:.2f} s, "
        f"{duplicates} duplicates, {lost} lost at Halo"
    )


def _ids_of(halo: Any, company: int) -> list[int]:
    return [t["id"] for t in halo.tickets.values() if t["client_id"] == company]


def floor_with_fresh_sandbox(companies: int, tickets: int) -> float:
    from sandbox.halopsa import HaloPSASandbox

    with HaloPSASandbox(seed(companies, tickets)) as halo:
        return floor(halo.base_url, companies, tickets)


if __name__ == "__main__":
    main()
