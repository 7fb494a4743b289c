"""One ConnectWise PSA connection feeding several clients, end to end: mapping, polls, callbacks, exactly-once notes.

The ConnectWise stand-in (sandbox/connectwise.py) serves ``--companies`` Manage companies with ``--tickets``
tickets each (a description note and two more notes a ticket). The bench maps each company to its own Gaby client
in one step (``connect_clients``), times the first poll of every source (all new), then a second poll (nothing
changed), then ``--callbacks`` callbacks through the HTTP endpoint, then delivers ``--replies`` replies while the
stand-in loses the answer of every ``--lose-every``-th note (Manage saves it, the gateway answers 504), and counts
what Manage holds: duplicates and losses. Floor: the same read requests (ticket pages, notes, contacts) made with
bare httpx and ``json.loads`` in the same run.

    GABY_ENV=development .venv/bin/python bench/connectwise.py [--companies 3] [--tickets 100] [--replies 60]
"""

from __future__ import annotations

import argparse
import base64
import json
import statistics
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
CLIENT_ID = "0b5e2c1d-7a3f-4e8b-9c6d-2f1a0e9b8c7d"


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def seed(companies: int, tickets: int) -> dict[str, Any]:
    contacts = [
        {
            "id": 1000 + c * 10 + u,
            "firstName": f"User{u}",
            "lastName": f"C{c}",
            "company_id": 100 + c,
            "email": f"u{u}@c{c}.bench.example",
        }
        for c in range(companies)
        for u in range(5)
    ]
    rows = []
    for c in range(companies):
        for t in range(tickets):
            number = 10_000 + c * tickets + t
            contact = 1000 + c * 10 + t % 5
            rows.append(
                {
                    "id": number,
                    "summary": f"Bench ticket {number}: printer on floor {t % 7} offline",
                    "company_id": 100 + c,
                    "contact_id": contact,
                    "status_id": 17,
                    "priority_id": 3,
                    "owner_id": 0,
                    "dateEntered": "2026-11-16T09:00:00Z",
                    "lastUpdated": stamp(START + timedelta(minutes=t)),
                    "notes": [
                        {
                            "id": number * 10 + n,
                            "text": "It shows error 49 after the firmware update." if n == 0 else f"Note {n}",
                            "detailDescriptionFlag": n != 2,
                            "internalAnalysisFlag": n == 2,
                            **({"contact_id": contact} if n == 0 else {"member_id": 151}),
                            "dateCreated": stamp(START + timedelta(seconds=n)),
                        }
                        for n in range(3)
                    ],
                }
            )
    return {
        "company_id": "bench",
        "api_members": {"pub-bench": "priv-bench"},
        "client_ids": [CLIENT_ID],
        "companies": [
            {"id": 100 + c, "identifier": f"Bench{c}", "name": f"Bench Company {c}", "deletedFlag": False}
            for c in range(companies)
        ],
        "contacts": contacts,
        "members": [
            {"id": 150, "identifier": "gaby", "firstName": "Gaby", "lastName": "API", "officeEmail": "g@b.example"},
            {"id": 151, "identifier": "tech", "firstName": "Tech", "lastName": "One", "officeEmail": "t@b.example"},
        ],
        "api_member_identifier": "gaby",
        "tickets": rows,
    }


def floor(url: str, companies: int) -> float:
    import httpx

    from sandbox.connectwise import API

    login = base64.b64encode(b"bench+pub-bench:priv-bench").decode()
    started = time.perf_counter()
    with httpx.Client(base_url=url + API, headers={"Authorization": f"Basic {login}", "clientId": CLIENT_ID}) as http:
        for c in range(companies):
            contacts: set[int] = set()
            next_url: str | None = "/service/tickets"
            params: dict[str, Any] | None = {"conditions": f"company/id = {100 + c}", "pageSize": PAGE}
            while next_url:
                response = http.get(next_url, params=params)
                params, next_url = None, response.links.get("next", {}).get("url")
                for row in json.loads(response.content):
                    json.loads(http.get(f"/service/tickets/{row['id']}/notes", params={"pageSize": 1000}).content)
                    if row["contact"]["id"] not in contacts:
                        contacts.add(row["contact"]["id"])
                        json.loads(http.get(f"/company/contacts/{row['contact']['id']}").content)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--companies", type=int, default=3)
    parser.add_argument("--tickets", type=int, default=100)
    parser.add_argument("--callbacks", type=int, default=50)
    parser.add_argument("--replies", type=int, default=60)
    parser.add_argument("--lose-every", type=int, default=4)
    args = parser.parse_args()
    setup_django()
    from django.test import Client as WebClient
    from django_tenants.utils import tenant_context

    from apps.tickets.connectwise_mapping import LINK, callback_url
    from apps.tickets.models import Message, Ticket
    from apps.tickets.psa_mapping import connect_clients
    from sandbox.connectwise import ConnectWiseSandbox
    from tenants.addresses import client_domain

    clients = _psa.fresh_clients("cwbench", "CW Bench", args.companies, "connectwise")

    with ConnectWiseSandbox(seed(args.companies, args.tickets)) as cw:
        connection = {
            "site_url": cw.base_url,
            "company_id": "bench",
            "public_key": "pub-bench",
            "private_key": "priv-bench",
            "client_id": CLIENT_ID,
        }
        started = time.perf_counter()
        made = connect_clients(
            LINK, connection=connection, mapping={100 + c: clients[c] for c in range(args.companies)}
        )
        mapped = time.perf_counter() - started
        runs = _psa.timed_polls(made)
        leaked = 0
        for index, item in enumerate(made):
            with tenant_context(item.client):
                own = [str(t["id"]) for t in cw.tickets.values() if t["company_id"] == 100 + index]
                leaked += Ticket.objects.exclude(external_id__in=own).count()

        # Callbacks through the HTTP endpoint, each a note added in Manage: the ticket is read again and stored.
        item = made[0]
        web = WebClient(HTTP_HOST=client_domain(item.client.slug))
        path = "/" + callback_url(item.client, item.source, item.secret).split("/", 3)[3]
        own_ids = sorted(t["id"] for t in cw.tickets.values() if t["company_id"] == 100)
        latencies = []
        for n in range(args.callbacks):
            ticket_id = own_ids[n % len(own_ids)]
            cw.add_note(ticket_id, f"Callback note {n}")
            body = json.dumps(cw.callback_body(ticket_id))
            began = time.perf_counter()
            answer = web.post(path, body, content_type="application/json")
            latencies.append(time.perf_counter() - began)
            assert answer.status_code == 200, answer.content
        with tenant_context(item.client):
            arrived = Message.objects.filter(ticket__source=item.source, body__startswith="Callback note ").count()

        # Replies with lost answers: Manage saves the note, the gateway answers 504.
        delivering, retried = _psa.replies_with_lost_answers(
            item,
            replies=args.replies,
            lose_every=args.lose_every,
            lose=lambda ticket: cw.lose_next_answer("POST", f"/service/tickets/{ticket.external_id}/notes"),
        )
        texts = [n["text"] for n in cw.notes.values() if str(n["text"]).startswith("Bench reply ")]
        duplicates = len(texts) - len(set(texts))
        lost = args.replies - len(set(texts))

    base = floor_with_fresh_sandbox(args.companies, args.tickets)
    total = args.companies * args.tickets
    print(
        f"ConnectWise PSA: {args.companies} Manage companies x {args.tickets} tickets (3 notes each), "
        f"mapped to {args.companies} Gaby clients"
    )
    print(f"  mapping in one step (keys, company list, {args.companies} sealed sources) {mapped:7.2f} s")
    _psa.print_polls(runs, total=total, floor=base)
    print(f"  tickets of another company in a client: {leaked}")
    median = statistics.median(latencies) * 1000
    p95 = sorted(latencies)[int(len(latencies) * 0.95) - 1] * 1000
    print(
        f"  {args.callbacks} callbacks over HTTP (ticket read again): median {median:.0f} ms, p95 {p95:.0f} ms; "
        f"{arrived} of {args.callbacks} new notes stored"
    )
    print(
        f"  {args.replies} replies, every {args.lose_every}th answer lost ({retried} retried): {delivering:.2f} s, "
        f"{duplicates} duplicates, {lost} lost at ConnectWise"
    )


def floor_with_fresh_sandbox(companies: int, tickets: int) -> float:
    from sandbox.connectwise import ConnectWiseSandbox

    with ConnectWiseSandbox(seed(companies, tickets)) as cw:
        return floor(cw.base_url, companies)


if __name__ == "__main__":
    main()
