"""Zendesk Support: incremental cursor export in, comments as the thread, writes through ticket updates.

Pull: ``GET /api/v2/incremental/tickets/cursor.json`` (``start_time`` once, then the ``after_cursor``
it returns, kept even at ``end_of_stream`` as Zendesk asks) with requesters sideloaded; each ticket's
comments come from ``/api/v2/tickets/{id}/comments.json`` (cursor pagination). A comment by an
end-user is inbound, by an agent outbound; ``public: false`` is an internal note.

Webhooks: Zendesk signs ``timestamp + body`` with the webhook's signing secret (HMAC-SHA256, base64)
in ``X-Zendesk-Webhook-Signature`` and ``X-Zendesk-Webhook-Signature-Timestamp``. The body only has to
name the ticket (``{"ticket_id": "{{ticket.id}}"}`` from a trigger, or an event webhook's
``detail.id``): Gaby then reads the ticket and its comments through the API, so a delivery never
carries more trust than the API itself.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, ClassVar
from urllib.parse import quote

from django.utils import timezone

from apps.tickets.normalized import NormalizedAttachment, NormalizedContact, NormalizedMessage, NormalizedTicket
from apps.tickets.sources.base import (
    Delivered,
    OutboundMessage,
    Page,
    PayloadError,
    Rejected,
    SignatureError,
    SourceError,
    UnsupportedOperation,
)
from apps.tickets.sources.http import SourceHttp
from apps.tickets.sources.vendor import (
    HttpAdapter,
    check_secret,
    constant_equal,
    hmac_sha256,
    load_json,
    parse_time,
    rejected,
)

SIGNATURE_HEADER = "X-Zendesk-Webhook-Signature"
TIMESTAMP_HEADER = "X-Zendesk-Webhook-Signature-Timestamp"
STATUS_IN = {
    "new": "new",
    "open": "open",
    "pending": "pending",
    "hold": "on_hold",
    "solved": "solved",
    "closed": "closed",
}
# Zendesk refuses "closed" through the API: it closes solved tickets itself after its grace period.
STATUS_OUT = {
    "new": "new",
    "open": "open",
    "pending": "pending",
    "on_hold": "hold",
    "solved": "solved",
    "closed": "solved",
}
PRIORITIES = {"low", "normal", "high", "urgent"}
COMMENTS_PAGE = 100


class ZendeskAdapter(HttpAdapter):
    kind: ClassVar[str] = "zendesk"
    label: ClassVar[str] = "Zendesk"
    sink_kinds: ClassVar[frozenset[str]] = frozenset({"public_reply", "internal_note"})
    writable_fields: ClassVar[frozenset[str]] = frozenset({"status", "priority", "tags", "assignee"})

    def build_http(self) -> SourceHttp:
        email, token = self.setting("email"), self.setting("api_token")
        return SourceHttp(self.setting("base_url"), auth=(f"{email}/token", token))

    def ticket_url(self, ticket_external_id: str) -> str | None:
        """The agent workspace's ticket page, ``https://<subdomain>.zendesk.com/agent/tickets/<id>``."""
        return f"{self.setting('base_url').rstrip('/')}/agent/tickets/{quote(ticket_external_id)}"

    # --- inbound -----------------------------------------------------------------------------
    def pull_since(self, cursor: Mapping[str, Any]) -> Page:
        params: dict[str, Any] = {"include": "users"}
        if cursor.get("after_cursor"):
            params["cursor"] = cursor["after_cursor"]
        else:
            days = int(self.config.get("backfill_days") or 30)
            params["start_time"] = int((timezone.now() - timedelta(days=days)).timestamp())
        data = self.http.json("GET", "/api/v2/incremental/tickets/cursor.json", params=params)
        if not isinstance(data, dict) or not isinstance(data.get("tickets"), list):
            raise SourceError(f"Zendesk's incremental export answered without a 'tickets' list: {str(data)[:200]}")
        users = _users(data.get("users"))
        tickets: list[NormalizedTicket] = []
        rejects: list[Rejected] = []
        skipped: dict[str, int] = {}
        for item in data["tickets"]:
            if isinstance(item, dict) and item.get("status") == "deleted":
                skipped["deleted"] = skipped.get("deleted", 0) + 1
                continue
            try:
                tickets.append(self._ticket(item, users))
            except (KeyError, TypeError, ValueError) as exc:
                rejects.append(rejected(item, f"Zendesk ticket could not be read: {exc.__class__.__name__}: {exc}"))
        next_cursor = dict(cursor)
        if data.get("after_cursor"):
            next_cursor = {"after_cursor": data["after_cursor"]}
        return Page(
            tickets=tickets,
            cursor=next_cursor,
            has_more=not data.get("end_of_stream", True),
            skipped=skipped,
            rejected=rejects,
        )

    def _ticket(self, item: Any, users: dict[str, dict[str, Any]]) -> NormalizedTicket:
        if not isinstance(item, dict):
            raise TypeError(f"a ticket must be an object, got {type(item).__name__}")
        ticket_id = item["id"]
        if not isinstance(ticket_id, int):
            raise ValueError(f"ticket id {ticket_id!r} is not a number")
        status = item.get("status")
        if status not in STATUS_IN:
            raise ValueError(f"unknown status {status!r}")
        priority = item.get("priority")
        if priority is not None and priority not in PRIORITIES:
            raise ValueError(f"unknown priority {priority!r}")
        tags = item.get("tags") or []
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise ValueError("tags is not a list of strings")
        comments, comment_users = self._comments(ticket_id)
        users = {**users, **comment_users}
        requester = users.get(str(item.get("requester_id")), {})
        contact = None
        if item.get("requester_id") is not None:
            contact = NormalizedContact(
                email=str(requester.get("email") or ""),
                name=str(requester.get("name") or ""),
                external_id=str(item["requester_id"]),
            )
        return NormalizedTicket(
            external_id=str(ticket_id),
            title=str(item.get("subject") or item.get("raw_subject") or "")[:500],
            body=str(item.get("description") or ""),
            contact=contact,
            status=STATUS_IN[status],
            priority=priority,
            tags=tuple(tags),
            messages=tuple(_message(c, users, self._files(c)) for c in comments),
        )

    def _files(self, comment: Any) -> tuple[NormalizedAttachment, ...]:
        items = comment.get("attachments") if isinstance(comment, dict) else None
        return self.remote_attachments(items, url_key="content_url", name_key="file_name")

    def _comments(self, ticket_id: int) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
        comments: list[dict[str, Any]] = []
        users: dict[str, dict[str, Any]] = {}
        url: str | None = f"/api/v2/tickets/{ticket_id}/comments.json"
        params: dict[str, Any] | None = {"page[size]": COMMENTS_PAGE, "include": "users"}
        while url:
            data = self.http.json("GET", url, params=params)
            if not isinstance(data, dict) or not isinstance(data.get("comments"), list):
                raise ValueError(f"the comments of ticket {ticket_id} came back without a 'comments' list")
            comments.extend(data["comments"])
            users.update(_users(data.get("users")))
            meta = data.get("meta") or {}
            url = (data.get("links") or {}).get("next") if meta.get("has_more") else None
            params = None  # the next link carries its own query
        return comments, users

    def verify_webhook(self, body: bytes, headers: Mapping[str, str]) -> None:
        secret = check_secret(str(self.config.get("webhook_secret", "")), self.label)
        signature, stamp = headers.get(SIGNATURE_HEADER, ""), headers.get(TIMESTAMP_HEADER, "")
        if not signature or not stamp:
            raise SignatureError(f"Missing {SIGNATURE_HEADER} or {TIMESTAMP_HEADER}: is this a signed Zendesk webhook?")
        expected = base64.b64encode(hmac_sha256(secret, stamp.encode() + body)).decode()
        if not constant_equal(signature, expected):
            raise SignatureError(
                f"{SIGNATURE_HEADER} does not match timestamp + body signed with this source's webhook secret."
            )

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> NormalizedTicket:
        data = load_json(body)
        ticket_id = webhook_ticket_id(data)
        found = self.http.json("GET", f"/api/v2/tickets/{ticket_id}.json", params={"include": "users"})
        if not isinstance(found, dict) or not isinstance(found.get("ticket"), dict):
            raise SourceError(f"Zendesk answered ticket {ticket_id} without a 'ticket' object.")
        try:
            return self._ticket(found["ticket"], _users(found.get("users")))
        except (KeyError, TypeError, ValueError) as exc:
            raise PayloadError(f"Zendesk ticket {ticket_id} could not be read: {exc}", field="ticket") from exc

    # --- outbound ----------------------------------------------------------------------------
    def _update(self, ticket_external_id: str, fields: dict[str, Any], *, key: str = "") -> Any:
        headers = {"Idempotency-Key": key} if key else None
        return self.http.json(
            "PUT", f"/api/v2/tickets/{ticket_external_id}.json", json={"ticket": fields}, headers=headers
        )

    def post_reply(self, message: OutboundMessage) -> Delivered:
        public = message.kind == "public_reply"
        answer = self._update(
            message.ticket_external_id, {"comment": {"body": message.body, "public": public}}, key=message.message_id
        )
        events = ((answer or {}).get("audit") or {}).get("events") or []
        comment_ids = [str(e["id"]) for e in events if isinstance(e, dict) and e.get("type") == "Comment"]
        if not comment_ids:
            raise SourceError("Zendesk accepted the update but its audit names no comment; check the ticket.")
        return Delivered(external_id=comment_ids[0])

    def update_status(self, ticket_external_id: str, status: str) -> None:
        if status not in STATUS_OUT:
            raise ValueError(f"Unknown status {status!r}.")
        self._update(ticket_external_id, {"status": STATUS_OUT[status]})

    def update_priority(self, ticket_external_id: str, priority: str) -> None:
        if priority not in PRIORITIES:
            raise ValueError(f"Unknown priority {priority!r}.")
        self._update(ticket_external_id, {"priority": priority})

    def update_tags(self, ticket_external_id: str, tags: list[str]) -> None:
        self._update(ticket_external_id, {"tags": list(tags)})

    def assign(self, ticket_external_id: str, assignee_email: str) -> None:
        # assignee_email is write-only in Update Ticket: Zendesk resolves it to the agent itself.
        fields = {"assignee_email": assignee_email} if assignee_email else {"assignee_id": None}
        self._update(ticket_external_id, fields)

    def log_time_entry(self, ticket_external_id: str, *, minutes: int, note: str, billable: bool) -> None:
        raise UnsupportedOperation(
            "Zendesk has no time-entry API: its Time Tracking app keeps time in custom ticket fields."
        )


def webhook_ticket_id(data: Any) -> str:
    """The ticket a delivery is about: a trigger's ``ticket_id`` / ``ticket.id``, or an event's ``detail.id``."""
    if not isinstance(data, dict):
        raise PayloadError("The body must be a JSON object naming the ticket.", field="(body)")
    candidates = [
        data.get("ticket_id"),
        (data.get("ticket") or {}).get("id") if isinstance(data.get("ticket"), dict) else None,
    ]
    if isinstance(data.get("detail"), dict):
        candidates.append(data["detail"].get("id"))
    for value in candidates:
        if isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit()):
            return str(value).strip()
    raise PayloadError(
        'No ticket id: send {"ticket_id": "{{ticket.id}}"} from the trigger (or subscribe to ticket events).',
        field="ticket_id",
    )


def _users(items: Any) -> dict[str, dict[str, Any]]:
    if not isinstance(items, list):
        return {}
    return {str(u["id"]): u for u in items if isinstance(u, dict) and "id" in u}


def _message(
    comment: Any, users: dict[str, dict[str, Any]], files: tuple[NormalizedAttachment, ...] = ()
) -> NormalizedMessage:
    if not isinstance(comment, dict) or "id" not in comment:
        raise ValueError(f"a comment without an id: {str(comment)[:100]}")
    author = users.get(str(comment.get("author_id")), {})
    body = comment.get("plain_body") or comment.get("body") or ""
    return NormalizedMessage(
        external_id=str(comment["id"]),
        body=str(body),
        author_label=str(author.get("name") or author.get("email") or comment.get("author_id") or ""),
        direction="inbound" if author.get("role", "end-user") == "end-user" else "outbound",
        kind="public_reply" if comment.get("public", True) else "internal_note",
        created_at=parse_time(comment.get("created_at")),
        attachments=files,
    )
