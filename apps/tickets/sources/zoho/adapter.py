"""Zoho Desk: OAuth refresh-token flow, tickets by modifiedTime, threads and comments as the thread.

Auth: the sealed refresh token is exchanged at ``{accounts}/oauth/v2/token`` for an access token
(an hour), sent as ``Authorization: Zoho-oauthtoken …`` with the ``orgId`` header on every call. The
token is kept in this worker's memory until it nears expiry (Zoho caps how many tokens a refresh
token may mint per ten minutes); a 401 mints a new one once and repeats the call.

Pull: ``GET /api/v1/tickets?sortBy=-modifiedTime&from=…&limit=…&include=contacts``, newest first,
stopping at the first ticket not modified after the cursor's ``since``. Each ticket's threads (email,
web, chat; ``direction`` in/out) come from ``/threads`` with their full content from
``/threads/{id}``, and its comments (``isPublic`` false = internal note) from ``/comments``.
Zoho answers an empty list with 204 No Content.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, ClassVar
from urllib.parse import quote

from django.utils import timezone

from apps.core.html_text import html_to_text
from apps.tickets.normalized import NormalizedContact, NormalizedMessage, NormalizedTicket
from apps.tickets.sources.base import Delivered, OutboundMessage, Page, Rejected, SourceError, UnsupportedOperation
from apps.tickets.sources.http import HttpStatusError, SourceHttp
from apps.tickets.sources.vendor import HttpAdapter, iso_z, later, parse_time, rejected

PAGE = 50
LIST_LIMIT = 100
STATUS_TYPE_IN = {"open": "open", "on hold": "on_hold", "closed": "closed"}
STATUS_OUT = {
    "new": "Open",
    "open": "Open",
    "pending": "On Hold",
    "on_hold": "On Hold",
    "solved": "Closed",
    "closed": "Closed",
}
PRIORITY_IN = {"low": "low", "medium": "normal", "high": "high", "urgent": "urgent"}
PRIORITY_OUT = {"low": "Low", "normal": "Medium", "high": "High", "urgent": "Urgent"}

_tokens: dict[str, tuple[str, float]] = {}  # source id -> (access token, monotonic expiry)
_tokens_lock = threading.Lock()


class ZohoDeskAdapter(HttpAdapter):
    kind: ClassVar[str] = "zoho"
    label: ClassVar[str] = "Zoho Desk"
    sink_kinds: ClassVar[frozenset[str]] = frozenset({"public_reply", "internal_note"})
    # Tags are separate records in Zoho Desk (associated one by one), so they stay in Gaby.
    writable_fields: ClassVar[frozenset[str]] = frozenset({"status", "priority", "assignee"})

    def build_http(self) -> SourceHttp:
        return SourceHttp(self.setting("base_url"), headers={"orgId": self.setting("org_id")})

    def ticket_url(self, ticket_external_id: str) -> str | None:
        """The ticket's ``webUrl`` from ``GET /api/v1/tickets/{id}``: the agent page's address depends on the portal
        and department, which only Zoho knows."""
        found = self._call("GET", f"/api/v1/tickets/{quote(ticket_external_id)}")
        url = str((found or {}).get("webUrl") or "") if isinstance(found, dict) else ""
        return url if url.startswith("https://") else None

    # --- auth --------------------------------------------------------------------------------
    def _token(self, *, fresh: bool = False) -> str:
        with _tokens_lock:
            cached = _tokens.get(self.source_id)
            if cached and not fresh and cached[1] > time.monotonic():
                return cached[0]
        url = self.setting("accounts_url").rstrip("/") + "/oauth/v2/token"
        form = {
            "refresh_token": self.setting("refresh_token"),
            "client_id": self.setting("client_id"),
            "client_secret": self.setting("client_secret"),
            "grant_type": "refresh_token",
        }
        answer = self.http.json("POST", url, data=form)
        token = answer.get("access_token") if isinstance(answer, dict) else None
        if not token:
            reason = answer.get("error", answer) if isinstance(answer, dict) else answer
            raise SourceError(f"Zoho refused the refresh token ({reason}); generate a new one and edit the source.")
        lifetime = float(answer.get("expires_in") or 3600)
        with _tokens_lock:
            _tokens[self.source_id] = (str(token), time.monotonic() + lifetime - 120)
        return str(token)

    def _call(self, method: str, url: str, **kwargs: Any) -> Any:
        """One API call with a valid token; None for 204 No Content (Zoho's empty list)."""
        for fresh in (False, True):
            headers = {"Authorization": f"Zoho-oauthtoken {self._token(fresh=fresh)}"}
            try:
                response = self.http.request(method, url, headers=headers, **kwargs)
            except HttpStatusError as exc:
                if exc.status == 401 and not fresh:
                    continue  # the token expired early or was revoked: mint one and try once more
                raise
            if response.status_code == 204 or not response.content:
                return None
            try:
                return response.json()
            except ValueError as exc:
                raise SourceError(
                    f"{method} {url} answered with a body that is not JSON: {response.text[:200]!r}"
                ) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    # --- inbound -----------------------------------------------------------------------------
    def pull_since(self, cursor: Mapping[str, Any]) -> Page:
        since = str(cursor.get("since") or "")
        if not since:
            since = iso_z(timezone.now() - timedelta(days=int(self.config.get("backfill_days") or 30)))
        floor = parse_time(since)
        offset = int(cursor.get("from") or 0)
        size = int(self.config.get("page_size") or PAGE)
        params = {"sortBy": "-modifiedTime", "from": offset, "limit": size, "include": "contacts"}
        answer = self._call("GET", "/api/v1/tickets", params=params)
        items = [] if answer is None else answer.get("data") if isinstance(answer, dict) else None
        if not isinstance(items, list):
            raise SourceError(f"Zoho Desk answered the ticket list without a 'data' list: {str(answer)[:200]}")
        tickets: list[NormalizedTicket] = []
        rejects: list[Rejected] = []
        high = str(cursor.get("high") or "")
        reached_floor = False
        for item in items:
            try:
                modified = parse_time(item.get("modifiedTime"))
                if modified is not None and floor is not None and modified <= floor:
                    reached_floor = True
                    break
                tickets.append(self._ticket(item))
                high = later(high, modified)
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                rejects.append(rejected(item, f"Zoho Desk ticket could not be read: {exc.__class__.__name__}: {exc}"))
        if not reached_floor and len(items) == size:
            return Page(tickets, {"since": since, "from": offset + size, "high": high}, has_more=True, rejected=rejects)
        return Page(tickets, {"since": high or since}, rejected=rejects)

    def _ticket(self, item: Any) -> NormalizedTicket:
        ticket_id = item["id"]
        if not isinstance(ticket_id, str) or not ticket_id.isdigit():
            raise ValueError(f"ticket id {ticket_id!r} is not Zoho's numeric string")
        kind = str(item.get("statusType") or item.get("status") or "").lower()
        if kind not in STATUS_TYPE_IN:
            raise ValueError(f"unknown status type {kind!r}")
        priority = item.get("priority")
        contact_data = item.get("contact") or {}
        name = " ".join(p for p in (contact_data.get("firstName"), contact_data.get("lastName")) if p)
        contact = NormalizedContact(
            email=str(contact_data.get("email") or item.get("email") or ""),
            name=name,
            external_id=str(item.get("contactId") or ""),
        )
        thread = [*self._threads(ticket_id), *self._comments(ticket_id)]
        opening = next((m for m in thread if m.direction == "inbound"), None)
        return NormalizedTicket(
            external_id=ticket_id,
            title=str(item.get("subject") or "")[:500],
            body=str(item.get("description") or (opening.body if opening else "")),
            contact=contact,
            status=STATUS_TYPE_IN[kind],
            priority=PRIORITY_IN.get(str(priority).lower()) if priority else None,
            messages=tuple(sorted(thread, key=lambda m: m.created_at or timezone.now())),
        )

    def _list(self, url: str) -> list[Any]:
        found: list[Any] = []
        offset = 0
        while True:
            answer = self._call("GET", url, params={"from": offset, "limit": LIST_LIMIT})
            items = [] if answer is None else answer.get("data") if isinstance(answer, dict) else None
            if not isinstance(items, list):
                raise ValueError(f"{url} answered without a 'data' list")
            found.extend(items)
            if len(items) < LIST_LIMIT:
                return found
            offset += LIST_LIMIT

    def _threads(self, ticket_id: str) -> list[NormalizedMessage]:
        messages = []
        for summary in self._list(f"/api/v1/tickets/{ticket_id}/threads"):
            thread = self._call("GET", f"/api/v1/tickets/{ticket_id}/threads/{summary['id']}") or summary
            author = thread.get("author") or {}
            content = thread.get("content") or thread.get("summary") or ""
            text = html_to_text(content) if thread.get("contentType", "text/html") == "text/html" else content
            messages.append(
                NormalizedMessage(
                    external_id=f"thread-{summary['id']}",
                    body=str(text),
                    author_label=str(author.get("name") or author.get("email") or ""),
                    direction="inbound" if thread.get("direction") == "in" else "outbound",
                    kind="internal_note" if thread.get("visibility") == "private" else "public_reply",
                    created_at=parse_time(thread.get("createdTime")),
                )
            )
        return messages

    def _comments(self, ticket_id: str) -> list[NormalizedMessage]:
        messages = []
        for comment in self._list(f"/api/v1/tickets/{ticket_id}/comments"):
            author = comment.get("commenter") or {}
            content = str(comment.get("content") or "")
            messages.append(
                NormalizedMessage(
                    external_id=f"comment-{comment['id']}",
                    body=html_to_text(content) if comment.get("contentType") == "html" else content,
                    author_label=str(author.get("name") or author.get("email") or ""),
                    direction="outbound",
                    kind="public_reply" if comment.get("isPublic") else "internal_note",
                    created_at=parse_time(comment.get("commentedTime")),
                )
            )
        return messages

    # --- outbound ----------------------------------------------------------------------------
    def post_reply(self, message: OutboundMessage) -> Delivered:
        ticket = message.ticket_external_id
        if message.kind == "internal_note":
            payload = {"content": message.body, "isPublic": False, "contentType": "plainText"}
            answer = self._call("POST", f"/api/v1/tickets/{ticket}/comments", json=payload)
            prefix = "comment"
        else:
            sender = str(self.config.get("from_email") or "")
            if not sender or not message.contact_email:
                raise SourceError(
                    "A Zoho Desk email reply needs the source's support address (edit the source) and the "
                    "ticket's contact email."
                )
            payload = {
                "channel": "EMAIL",
                "fromEmailAddress": sender,
                "to": message.contact_email,
                "content": message.body,
                "contentType": "plainText",
            }
            answer = self._call("POST", f"/api/v1/tickets/{ticket}/sendReply", json=payload)
            prefix = "thread"
        if not isinstance(answer, dict) or "id" not in answer:
            raise SourceError("Zoho Desk accepted the message but did not say its id.")
        return Delivered(external_id=f"{prefix}-{answer['id']}")

    def _update(self, ticket_external_id: str, fields: dict[str, Any]) -> None:
        self._call("PATCH", f"/api/v1/tickets/{ticket_external_id}", json=fields)

    def update_status(self, ticket_external_id: str, status: str) -> None:
        self._update(ticket_external_id, {"status": STATUS_OUT[status]})

    def update_priority(self, ticket_external_id: str, priority: str) -> None:
        self._update(ticket_external_id, {"priority": PRIORITY_OUT[priority]})

    def update_tags(self, ticket_external_id: str, tags: list[str]) -> None:
        raise UnsupportedOperation(
            "Gaby does not write Zoho Desk tags: Zoho keeps tags as separate records associated one at a time, "
            "so replacing a ticket's tag list is not one update. Change tags in Zoho Desk."
        )

    def assign(self, ticket_external_id: str, assignee_email: str) -> None:
        if not assignee_email:
            self._update(ticket_external_id, {"assigneeId": None})
            return
        wanted = assignee_email.strip().lower()
        agent = next((a for a in self._list("/api/v1/agents") if str(a.get("emailId", "")).lower() == wanted), None)
        if agent is None:
            raise SourceError(f"Zoho Desk has no agent with the email {assignee_email}.")
        self._update(ticket_external_id, {"assigneeId": str(agent["id"])})

    def log_time_entry(self, ticket_external_id: str, *, minutes: int, note: str, billable: bool) -> None:
        payload = {
            "executedTime": timezone.now().strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "hoursSpent": str(minutes // 60),
            "minutesSpent": str(minutes % 60),
            "secondsSpent": "0",
            "isBillable": billable,
            "description": note,
        }
        self._call("POST", f"/api/v1/tickets/{ticket_external_id}/timeEntry", json=payload)
