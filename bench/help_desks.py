"""A Zendesk poll end to end: HTTP through the seam, parsing, idempotent ingestion into PostgreSQL.

A local HTTP server generates a Zendesk incremental export of ``--tickets`` tickets (100 a page, as
Zendesk pages) with ``--comments`` comments each; the bench times ``polling.poll`` of a Zendesk
source in a dedicated client: the first poll (every ticket and message new), then the same export
again (every item known: the idempotent path). Floor: the same HTTP requests made with bare httpx and
``json.loads`` in the same run, so the figure shows what Gaby adds on top of the network.

    GABY_ENV=development .venv/bin/python bench/help_desks.py [--tickets 1000] [--comments 3]
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._server import setup_django

PAGE = 100


class Export(ThreadingHTTPServer):
    def __init__(self, tickets: int, comments: int) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.tickets, self.comments = tickets, comments

    def page(self, number: int) -> dict[str, Any]:
        first = number * PAGE
        ids = range(first, min(first + PAGE, self.tickets))
        rows = [
            {
                "id": 100_000 + i,
                "subject": f"Bench ticket {i}: printer on floor {i % 7} offline",
                "description": "It shows error 49 after the firmware update.",
                "status": "open",
                "priority": "normal",
                "tags": ["bench", f"floor-{i % 7}"],
                "requester_id": 9_000 + i % 50,
            }
            for i in ids
        ]
        users = [
            {"id": 9_000 + u, "name": f"User {u}", "email": f"user{u}@bench.example", "role": "end-user"}
            for u in range(50)
        ]
        more = first + PAGE < self.tickets
        return {"tickets": rows, "users": users, "after_cursor": f"p{number + 1}", "end_of_stream": not more}

    def thread(self, ticket_id: int) -> dict[str, Any]:
        comments = [
            {
                "id": ticket_id * 10 + c,
                "author_id": 9_000,
                "plain_body": f"Comment {c}",
                "public": c % 2 == 0,
                "created_at": "2026-11-16T09:00:00Z",
            }
            for c in range(self.comments)
        ]
        return {"comments": comments, "users": [], "meta": {"has_more": False}, "links": {"next": None}}


class Handler(BaseHTTPRequestHandler):
    server: Export
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body leave as separate writes: no 40 ms delayed-ACK stalls

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        if parts.path.endswith("/incremental/tickets/cursor.json"):
            cursor = query.get("cursor", ["p0"])[0]
            body = self.server.page(int(cursor.removeprefix("p")))
        else:
            body = self.server.thread(int(parts.path.split("/")[4]))
        raw = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args: Any) -> None:
        pass


def floor(url: str, tickets: int) -> float:
    import httpx

    started = time.perf_counter()
    with httpx.Client(base_url=url) as http:
        cursor = "p0"
        while True:
            page = json.loads(http.get("/api/v2/incremental/tickets/cursor.json", params={"cursor": cursor}).content)
            for row in page["tickets"]:
                json.loads(http.get(f"/api/v2/tickets/{row['id']}/comments.json").content)
            if page["end_of_stream"]:
                break
            cursor = page["after_cursor"]
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=1000)
    parser.add_argument("--comments", type=int, default=3)
    args = parser.parse_args()
    setup_django()
    from django_tenants.utils import tenant_context

    from apps.tickets import polling, services
    from apps.tickets.models import Message, Ticket, TicketSource
    from tenants.models import Client
    from tenants.services import create_client, ensure_public_tenant

    server = Export(args.tickets, args.comments)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    ensure_public_tenant()
    client = Client.objects.filter(slug="deskbench").first() or create_client(name="Desk Bench", slug="deskbench")
    with tenant_context(client):
        Message.objects.filter(ticket__source__name="Bench Zendesk").delete()
        Ticket.objects.filter(source__name="Bench Zendesk").delete()
        TicketSource.objects.filter(name="Bench Zendesk").delete()
        config = {"base_url": url, "email": "bench@example.com", "api_token": "t"}
        source = services.create_source(client=client, kind="zendesk", name="Bench Zendesk", config=config)
        runs = []
        for label in ("first poll (all new)", "same export again (all known)"):
            TicketSource.objects.filter(pk=source.pk).update(cursor={}, next_poll_at=None)
            started = time.perf_counter()
            result = polling.poll(source.pk)
            runs.append((label, time.perf_counter() - started, result.summary()))
        stored = (Ticket.objects.filter(source=source).count(), Message.objects.filter(ticket__source=source).count())
    base = floor(url, args.tickets)
    requests = args.tickets + -(-args.tickets // PAGE)
    print(
        f"Zendesk poll of {args.tickets} tickets x {args.comments} comments ({requests} HTTP requests); stored {stored}"
    )
    print(
        f"  {'floor: bare httpx + json.loads, same requests':<46} {base:7.2f} s  {args.tickets / base:7.0f} tickets/s"
    )
    for label, seconds, summary in runs:
        rate = f"{args.tickets / seconds:7.0f} tickets/s"
        print(f"  {label:<46} {seconds:7.2f} s  {rate}  ({seconds / base:4.1f}x floor)  {summary}")
    server.shutdown()


if __name__ == "__main__":
    main()
