"""One Autotask connection feeding several clients, end to end: zone, mapping, polls, exactly-once notes.

The Autotask stand-in (sandbox/autotask.py) serves ``--companies`` companies with ``--tickets`` tickets each (two
notes a ticket: a contact's and an internal one). The bench maps each company to its own Gaby client in one step
(``connect_clients``), times the first poll of every source (all new), then a second poll (nothing changed), then
delivers ``--replies`` replies while the stand-in loses the answer of every ``--lose-every``-th note (Autotask
saves it, the gateway answers 504), and counts what Autotask holds: duplicates and losses. Floor: the same reads
(zone, ticket query pages, each ticket's notes query, contacts) with bare httpx and ``json.loads`` in the same run.

    GABY_ENV=development .venv/bin/python bench/autotask.py [--companies 3] [--tickets 100] [--replies 60]
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

PAGE = 100
START = datetime(2026, 11, 16, 9, tzinfo=UTC)
HEADERS = {"ApiIntegrationCode": "GABYBENCH", "UserName": "gaby-bench@bench.example", "Secret": "bench-secret"}


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def seed(companies: int, tickets: int) -> dict[str, Any]:
    rows = []
    for c in range(companies):
        for t in range(tickets):
            number = 10_000 + c * tickets + t
            rows.append(
                {
                    "id": number,
                    "ticketNumber": f"T20261116.{number}",
                    "title": f"Bench ticket {number}: printer on floor {t % 7} offline",
                    "description": "It shows error 49 after the firmware update.",
                    "companyID": 100 + c,
                    "contactID": 1000 + c * 10 + t % 5,
                    "status": 8,
                    "priority": 2,
                    "assignedResourceID": None,
                    "createDate": stamp(START),
                    "lastActivityDate": stamp(START + timedelta(minutes=t)),
                    "notes": [
                        {
                            "id": number * 10,
                            "title": "More",
                            "description": "Still failing.",
                            "noteType": 1,
                            "publish": 1,
                            "createdByContactID": 1000 + c * 10 + t % 5,
                            "createDateTime": stamp(START),
                        },
                        {
                            "id": number * 10 + 1,
                            "title": "Checked",
                            "description": "Firmware 4.2 on it.",
                            "noteType": 3,
                            "publish": 2,
                            "creatorResourceID": 2,
                            "createDateTime": stamp(START),
                        },
                    ],
                }
            )
    return {
        "zone": "zone2",
        "integration_codes": [HEADERS["ApiIntegrationCode"]],
        "api_users": {HEADERS["UserName"]: HEADERS["Secret"]},
        "companies": [
            {"id": 100 + c, "companyName": f"Bench Company {c}", "isActive": True, "companyType": 1}
            for c in range(companies)
        ],
        "contacts": [
            {
                "id": 1000 + c * 10 + u,
                "companyID": 100 + c,
                "firstName": f"User{u}",
                "lastName": f"C{c}",
                "emailAddress": f"u{u}@c{c}.bench.example",
            }
            for c in range(companies)
            for u in range(5)
        ],
        "resources": [
            {
                "id": 1,
                "firstName": "Gaby",
                "lastName": "API",
                "email": "g@b.example",
                "userName": HEADERS["UserName"],
                "isActive": True,
                "defaultServiceDeskRoleID": 29682833,
            },
            {
                "id": 2,
                "firstName": "Tech",
                "lastName": "One",
                "email": "t@b.example",
                "userName": "tech",
                "isActive": True,
                "defaultServiceDeskRoleID": 29682834,
            },
        ],
        "tickets": rows,
    }


def floor(url: str, companies: int) -> float:
    import httpx

    started = time.perf_counter()
    with httpx.Client(headers=HEADERS) as http:
        zone = json.loads(
            http.get(f"{url}/atservicesrest/v1.0/zoneInformation", params={"user": HEADERS["UserName"]}).content
        )
        root = zone["url"] + "v1.0"
        for c in range(companies):
            contacts: set[int] = set()
            search = {"filter": [{"op": "eq", "field": "companyID", "value": 100 + c}], "MaxRecords": PAGE}
            next_url: str | None = f"{root}/Tickets/query?search={json.dumps(search)}"
            while next_url:
                page = json.loads(http.get(next_url).content)
                next_url = page["pageDetails"]["nextPageUrl"]
                for row in page["items"]:
                    notes = {"filter": [{"op": "eq", "field": "ticketID", "value": row["id"]}], "MaxRecords": 500}
                    json.loads(http.post(f"{root}/TicketNotes/query", json=notes).content)
                    if row["contactID"] not in contacts:
                        contacts.add(row["contactID"])
                        json.loads(http.get(f"{root}/Contacts/{row['contactID']}").content)
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

    from apps.tickets.autotask_mapping import LINK
    from apps.tickets.models import Ticket
    from apps.tickets.psa_mapping import connect_clients
    from sandbox.autotask import AutotaskSandbox

    clients = _psa.fresh_clients("atbench", "AT Bench", args.companies, "autotask")
    with AutotaskSandbox(seed(args.companies, args.tickets)) as at:
        connection = {
            "webservices_url": at.base_url,
            "username": HEADERS["UserName"],
            "secret": HEADERS["Secret"],
            "integration_code": HEADERS["ApiIntegrationCode"],
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
                own = [str(t["id"]) for t in at.tickets.values() if t["companyID"] == 100 + index]
                leaked += Ticket.objects.exclude(external_id__in=own).count()
        before = len(at.notes)
        seconds, retried = _psa.replies_with_lost_answers(
            made[0],
            replies=args.replies,
            lose_every=args.lose_every,
            lose=lambda ticket: at.lose_next_answer("POST", f"/Tickets/{ticket.external_id}/Notes"),
        )
        texts = [n["description"] for n in list(at.notes.values())[before:]]
        duplicates = len(texts) - len(set(texts))
        lost = args.replies - len(set(texts))
        base = floor(at.base_url, args.companies)
    total = args.companies * args.tickets
    print(f"Autotask: {args.companies} companies x {args.tickets} tickets (2 notes each), one API user, {PAGE} a page")
    print(f"  {'map companies to clients (one step, credentials checked)':<46} {mapped:7.2f} s")
    _psa.print_polls(runs, total=total, floor=base)
    print(f"  tickets of another company in a client: {leaked}")
    print(
        f"  {args.replies} replies, every {args.lose_every}th answer lost: {seconds:5.2f} s, {retried} retried, "
        f"{duplicates} duplicates and {lost} lost at Autotask"
    )


if __name__ == "__main__":
    main()
