"""Freshdesk: tickets updated since a moment, page by page, with their conversations; writes through the v2 API.

Pull: ``GET /api/v2/tickets?updated_since=…&order_by=updated_at&order_type=asc&page=N&include=requester``
(the next page is announced in the ``Link`` header); each ticket's thread is its description plus
``/api/v2/tickets/{id}/conversations``. ``incoming`` tells who wrote, ``private`` marks a note.
Status and priority are numbers in Freshdesk (2 Open, 3 Pending, 4 Resolved, 5 Closed, 6 Waiting on
Customer, 7 Waiting on Third Party; 1-4 Low…Urgent), mapped both ways below.

Webhooks: Freshdesk automation rules do not sign requests, so the rule sends a shared secret in the
``X-Gaby-Webhook-Secret`` header and a body naming the ticket (``{"ticket_id": "{{ticket.id}}"}``);
Gaby reads the ticket itself through the API.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any, ClassVar
from urllib.parse import quote

from django.utils import timezone

from apps.core.html_text import html_to_text
from apps.tickets.normalized import NormalizedAttachment, NormalizedContact, NormalizedMessage, NormalizedTicket
from apps.tickets.sources.base import (
    Delivered,
    OutboundMessage,
    Page,
    PayloadError,
    Rejected,
    SignatureError,
    SourceError,
)
from apps.tickets.sources.http import SourceHttp
from apps.tickets.sources.vendor import (
    HttpAdapter,
    check_secret,
    constant_equal,
    iso_z,
    json_and_next,
    later,
    load_json,
    parse_time,
    rejected,
    text_to_html,
)

SECRET_HEADER = "X-Gaby-Webhook-Secret"
STATUS_IN = {2: "open", 3: "pending", 4: "solved", 5: "closed", 6: "pending", 7: "on_hold"}
STATUS_OUT = {"new": 2, "open": 2, "pending": 3, "on_hold": 7, "solved": 4, "closed": 5}
PRIORITY_IN = {1: "low", 2: "normal", 3: "high", 4: "urgent"}
PRIORITY_OUT = {name: number for number, name in PRIORITY_IN.items()}
PER_PAGE = 100


class FreshdeskAdapter(HttpAdapter):
    kind: ClassVar[str] = "freshdesk"
    label: ClassVar[str] = "Freshdesk"
    sink_kinds: ClassVar[frozenset[str]] = frozenset({"public_reply", "internal_note"})
    writable_fields: ClassVar[frozenset[str]] = frozenset({"status", "priority", "tags", "assignee"})

    def build_http(self) -> SourceHttp:
        return SourceHttp(self.setting("base_url"), auth=(self.setting("api_key"), "X"))

    def ticket_url(self, ticket_external_id: str) -> str | None:
        """The agent's ticket page, ``https://<domain>.freshdesk.com/a/tickets/<id>``."""
        return f"{self.setting('base_url').rstrip('/')}/a/tickets/{quote(ticket_external_id)}"

    # --- inbound -----------------------------------------------------------------------------
    def pull_since(self, cursor: Mapping[str, Any]) -> Page:
        since = str(cursor.get("since") or "")
        if not since:
            since = iso_z(timezone.now() - timedelta(days=int(self.config.get("backfill_days") or 30)))
        page = int(cursor.get("page") or 1)
        params = {
            "updated_since": since,
            "order_by": "updated_at",
            "order_type": "asc",
            "per_page": PER_PAGE,
            "page": page,
            "include": "requester",
        }
        items, next_url = json_and_next(self.http, "/api/v2/tickets", params=params)
        if not isinstance(items, list):
            raise SourceError(f"Freshdesk answered the ticket list with {type(items).__name__}, not a list.")
        tickets: list[NormalizedTicket] = []
        rejects: list[Rejected] = []
        high = str(cursor.get("high") or "")
        for item in items:
            try:
                tickets.append(self._ticket(item))
                high = later(high, parse_time(item.get("updated_at")))
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                rejects.append(rejected(item, f"Freshdesk ticket could not be read: {exc.__class__.__name__}: {exc}"))
        if next_url:
            return Page(tickets, {"since": since, "page": page + 1, "high": high}, has_more=True, rejected=rejects)
        return Page(tickets, {"since": high or since}, rejected=rejects)

    def _ticket(self, item: Any) -> NormalizedTicket:
        ticket_id = item["id"]
        if not isinstance(ticket_id, int):
            raise ValueError(f"ticket id {ticket_id!r} is not a number")
        status, priority = item.get("status"), item.get("priority")
        if not isinstance(status, int):
            raise ValueError(f"status {status!r} is not a number")
        if priority not in PRIORITY_IN:
            raise ValueError(f"unknown priority {priority!r}")
        tags = item.get("tags") or []
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise ValueError("tags is not a list of strings")
        requester = item.get("requester") or {}
        contact = NormalizedContact(
            email=str(requester.get("email") or ""),
            name=str(requester.get("name") or ""),
            external_id=str(item.get("requester_id") or requester.get("id") or ""),
        )
        description = str(item.get("description_text") or html_to_text(str(item.get("description") or "")))
        opening = NormalizedMessage(
            external_id=f"ticket-{ticket_id}",
            body=description,
            author_label=contact.name or contact.email,
            created_at=parse_time(item.get("created_at")),
            attachments=self._files(item),  # only a single ticket's GET lists them (webhooks); a list does not
        )
        thread = [opening, *(_message(c, self._files(c)) for c in self._conversations(ticket_id))]
        return NormalizedTicket(
            external_id=str(ticket_id),
            title=str(item.get("subject") or "")[:500],
            body=description,
            contact=contact,
            status=STATUS_IN.get(status, "open"),  # custom statuses count as open work
            priority=PRIORITY_IN[priority],
            tags=tuple(tags),
            messages=tuple(thread),
        )

    def _files(self, item: Any) -> tuple[NormalizedAttachment, ...]:
        items = item.get("attachments") if isinstance(item, dict) else None
        return self.remote_attachments(items, url_key="attachment_url", name_key="name")

    def _conversations(self, ticket_id: int) -> list[Any]:
        found: list[Any] = []
        url: str | None = f"/api/v2/tickets/{ticket_id}/conversations"
        params: dict[str, Any] | None = {"per_page": PER_PAGE}
        while url:
            items, url = json_and_next(self.http, url, params=params)
            if not isinstance(items, list):
                raise ValueError(f"the conversations of ticket {ticket_id} are not a list")
            found.extend(items)
            params = None
        return found

    def verify_webhook(self, body: bytes, headers: Mapping[str, str]) -> None:
        secret = check_secret(str(self.config.get("webhook_secret", "")), self.label)
        given = headers.get(SECRET_HEADER, "")
        if not given:
            raise SignatureError(f"Missing {SECRET_HEADER}: add it to the automation rule's webhook headers.")
        if not constant_equal(given, secret):
            raise SignatureError(f"{SECRET_HEADER} is not this source's webhook secret.")

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> NormalizedTicket:
        data = load_json(body)
        if isinstance(data, dict) and isinstance(data.get("freshdesk_webhook"), dict):
            data = data["freshdesk_webhook"]
        raw = data.get("ticket_id") if isinstance(data, dict) else None
        ticket_id = str(raw).strip().lstrip("#") if raw is not None else ""
        if not ticket_id.isdigit():
            raise PayloadError(
                'No ticket id: the rule\'s body must be {"ticket_id": "{{ticket.id}}"}.', field="ticket_id"
            )
        item = self.http.json("GET", f"/api/v2/tickets/{ticket_id}", params={"include": "requester"})
        try:
            return self._ticket(item)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise PayloadError(f"Freshdesk ticket {ticket_id} could not be read: {exc}", field="ticket") from exc

    # --- outbound ----------------------------------------------------------------------------
    def post_reply(self, message: OutboundMessage) -> Delivered:
        headers = {"Idempotency-Key": message.message_id}
        body = text_to_html(message.body)
        ticket = message.ticket_external_id
        if message.kind == "public_reply":
            answer = self.http.json("POST", f"/api/v2/tickets/{ticket}/reply", json={"body": body}, headers=headers)
        else:
            payload = {"body": body, "private": True}
            answer = self.http.json("POST", f"/api/v2/tickets/{ticket}/notes", json=payload, headers=headers)
        if not isinstance(answer, dict) or "id" not in answer:
            raise SourceError("Freshdesk accepted the message but did not say its id.")
        return Delivered(external_id=str(answer["id"]))

    def _update(self, ticket_external_id: str, fields: dict[str, Any]) -> None:
        self.http.json("PUT", f"/api/v2/tickets/{ticket_external_id}", json=fields)

    def update_status(self, ticket_external_id: str, status: str) -> None:
        self._update(ticket_external_id, {"status": STATUS_OUT[status]})

    def update_priority(self, ticket_external_id: str, priority: str) -> None:
        self._update(ticket_external_id, {"priority": PRIORITY_OUT[priority]})

    def update_tags(self, ticket_external_id: str, tags: list[str]) -> None:
        self._update(ticket_external_id, {"tags": list(tags)})

    def assign(self, ticket_external_id: str, assignee_email: str) -> None:
        if not assignee_email:
            self._update(ticket_external_id, {"responder_id": None})
            return
        agents = self.http.json("GET", "/api/v2/agents", params={"email": assignee_email})
        if not isinstance(agents, list) or not agents or "id" not in agents[0]:
            raise SourceError(f"Freshdesk has no agent with the email {assignee_email}.")
        self._update(ticket_external_id, {"responder_id": agents[0]["id"]})

    def log_time_entry(self, ticket_external_id: str, *, minutes: int, note: str, billable: bool) -> None:
        spent = f"{minutes // 60:02d}:{minutes % 60:02d}"
        payload = {"time_spent": spent, "note": note, "billable": billable}
        self.http.json("POST", f"/api/v2/tickets/{ticket_external_id}/time_entries", json=payload)


def _message(item: Any, files: tuple[NormalizedAttachment, ...] = ()) -> NormalizedMessage:
    if not isinstance(item, dict) or "id" not in item:
        raise ValueError(f"a conversation without an id: {str(item)[:100]}")
    body = item.get("body_text") or html_to_text(str(item.get("body") or ""))
    incoming = bool(item.get("incoming"))
    return NormalizedMessage(
        external_id=str(item["id"]),
        body=str(body),
        author_label=str(item.get("from_email") or item.get("user_id") or ""),
        direction="inbound" if incoming else "outbound",
        kind="internal_note" if item.get("private") else "public_reply",
        created_at=parse_time(item.get("created_at")),
        attachments=files,
    )
