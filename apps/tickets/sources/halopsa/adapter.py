"""HaloPSA: one Halo client's (company's) tickets, pulled by last update, read again on webhooks, written as actions.

Auth: OAuth2 client credentials of a Halo API application (apps/tickets/sources/halopsa/auth.py), the bearer
token shared by every source of that application. Each Gaby client's source is filtered to one Halo client
(``halo_client_id``): a ticket of another company is never ingested here, whichever way it arrives.

Pull: ``GET /api/Tickets?client_id=…&datesearch=lastupdate&startdate=…&order=last_update&pageinate=true``
page by page (``page_no`` until ``record_count`` is reached); each ticket's thread is its ``details`` plus
its non-system actions (``GET /api/Actions?ticket_id=…&excludesys=true``); ``hiddenfromuser`` marks a private
note, ``who_agentid`` an agent's action. The requester is the ticket's end user (``GET /api/Users/{id}``).

Webhooks: a Halo webhook posts the ticket object (and the action, when an action fired the event) with the
Basic (or Bearer) authentication configured on the webhook, whose secret is this source's ``webhook_secret``;
Gaby takes the ticket's id and reads the ticket again through the API rather than trusting the body. Batched
deliveries (a list) are refused with a message to turn batching off.

Writes: replies and notes are ``POST /api/Actions`` (an array of one), ticket changes ``POST /api/Tickets``
with the ticket's ``id``. Halo takes no idempotency key, so a write is sent once per attempt (no automatic
retry inside the call) and an attempt after a failure first looks for the action the lost attempt may have
written (same note and visibility, written since Gaby created the message) — the delivery claim
(apps/tickets/delivery.py) makes sure only one worker attempts at a time.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, ClassVar
from urllib.parse import urlencode

from django.utils import timezone

from apps.core.html_text import html_to_text
from apps.tickets.normalized import NormalizedContact, NormalizedMessage, NormalizedTicket
from apps.tickets.sources.base import (
    Delivered,
    OutboundMessage,
    Page,
    PayloadError,
    SignatureError,
    SourceError,
    Step,
    TimeEntry,
)
from apps.tickets.sources.halopsa import auth
from apps.tickets.sources.http import HttpStatusError, SourceHttp
from apps.tickets.sources.vendor import (
    HttpAdapter,
    IgnoredDelivery,
    check_secret,
    constant_equal,
    iso_z,
    later,
    load_json,
    parse_time,
    rejected,
    uuid7_time,
)

PAGE_SIZE = 50
# Halo's default status and priority ids; an instance with its own statuses maps them with ``status_ids``.
STATUS_IN = {1: "new", 2: "open", 3: "open", 4: "pending", 5: "open", 8: "on_hold", 9: "closed"}
STATUS_OUT = {"new": 1, "open": 2, "pending": 4, "on_hold": 8, "solved": 9, "closed": 9}
PRIORITY_IN = {1: "urgent", 2: "high", 3: "normal", 4: "low"}
PRIORITY_OUT = {name: number for number, name in PRIORITY_IN.items()}
REPLY_OUTCOME, NOTE_OUTCOME = "Email User", "Private Note"
CLOCK_SKEW = timedelta(minutes=5)  # Halo's clock against Gaby's, when looking for an action a lost attempt wrote


class HaloPSAAdapter(HttpAdapter):
    kind: ClassVar[str] = "halopsa"
    label: ClassVar[str] = "HaloPSA"
    sink_kinds: ClassVar[frozenset[str]] = frozenset({"public_reply", "internal_note"})
    # Halo has no tag list on a ticket (categories are configured per instance), so tags stay in Gaby.
    writable_fields: ClassVar[frozenset[str]] = frozenset({"status", "priority", "assignee"})

    def __init__(self, *, source_id: str, config: Mapping[str, Any]) -> None:
        super().__init__(source_id=source_id, config=config)
        self._users: dict[int, dict[str, Any]] = {}

    def build_http(self) -> SourceHttp:
        return SourceHttp(self.setting("base_url"))

    def build_writer(self) -> SourceHttp:
        return SourceHttp(self.setting("base_url"), max_attempts=1)

    def ticket_url(self, ticket_external_id: str) -> str | None:
        """Halo's agent ticket page, ``<Halo URL>/ticket?id=<id>`` (the link Halo's own notifications carry)."""
        return f"{self.setting('base_url').rstrip('/')}/ticket?{urlencode({'id': ticket_external_id})}"

    @property
    def halo_client_id(self) -> int:
        return self.id_setting("halo_client_id", "a Halo client id")

    # --- calls -------------------------------------------------------------------------------
    def _call(self, method: str, url: str, *, write: bool = False, **kwargs: Any) -> Any:
        http = self.writer if write else self.http
        for fresh in (False, True):
            headers = {"Authorization": f"Bearer {auth.token(self.http, self.config, fresh=fresh)}"}
            try:
                return http.json(method, url, headers=headers, **kwargs)
            except HttpStatusError as exc:
                if exc.status == 401 and not fresh:
                    continue  # the token expired early or the application was re-keyed: mint one, once
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _status_in(self, value: Any) -> str:
        custom = {int(k): v for k, v in dict(self.config.get("status_ids") or {}).items()}
        return custom.get(value) or STATUS_IN.get(value, "open")  # an unknown custom status is open work

    def companies(self) -> dict[int, str]:
        """Every Halo client (company) this API application sees, id → name (``GET /api/Client``, paged)."""
        found: dict[int, str] = {}
        page = 1
        while True:
            params = {"pageinate": "true", "page_size": 100, "page_no": page}
            answer = self._call("GET", "/api/Client", params=params)
            items = answer.get("clients") if isinstance(answer, dict) else None
            if not isinstance(items, list):
                raise SourceError(f"HaloPSA answered the client list without a 'clients' list: {str(answer)[:200]}")
            found.update({int(c["id"]): str(c.get("name") or "") for c in items if isinstance(c, dict) and "id" in c})
            total = answer.get("record_count")
            if not items or not isinstance(total, int) or page * 100 >= total:
                return found
            page += 1

    # --- inbound -----------------------------------------------------------------------------
    def pull_since(self, cursor: Mapping[str, Any]) -> Page:
        since = str(cursor.get("since") or "")
        if not since:
            since = iso_z(timezone.now() - timedelta(days=int(self.config.get("backfill_days") or 30)))
        page = int(cursor.get("page") or 1)
        size = int(self.config.get("page_size") or PAGE_SIZE)
        params = {
            "client_id": self.halo_client_id,
            "datesearch": "lastupdate",
            "startdate": since,
            "order": "last_update",
            "pageinate": "true",
            "page_size": size,
            "page_no": page,
        }
        answer = self._call("GET", "/api/Tickets", params=params)
        items = answer.get("tickets") if isinstance(answer, dict) else None
        if not isinstance(items, list):
            raise SourceError(f"HaloPSA answered the ticket list without a 'tickets' list: {str(answer)[:200]}")
        high = str(cursor.get("high") or "")
        steps: list[Step] = []
        for item in items:
            try:
                ticket = self._ticket(item)
                high = later(high, parse_time(item.get("last_update")))
                steps.append(Step(ticket, {}))
            except IgnoredDelivery:
                steps.append(Step("ticket of another Halo client", {}))
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                error = f"HaloPSA ticket could not be read: {exc.__class__.__name__}: {exc}"
                steps.append(Step(rejected(item, error), {}))
        total = answer.get("record_count")
        if isinstance(total, int) and page * size < total and items:
            return Page([], {"since": since, "page": page + 1, "high": high}, has_more=True, steps=steps)
        # Halo's startdate is inclusive: the last ticket is read again next time (ingestion is idempotent).
        return Page([], {"since": high or since}, steps=steps)

    def _ticket(self, item: Any) -> NormalizedTicket:
        ticket_id = item["id"]
        if not isinstance(ticket_id, int) or isinstance(ticket_id, bool):
            raise ValueError(f"ticket id {ticket_id!r} is not a number")
        if item.get("client_id") != self.halo_client_id:
            raise IgnoredDelivery(f"ticket {ticket_id} belongs to Halo client {item.get('client_id')!r}.")
        priority = item.get("priority_id")
        if priority is not None and priority not in PRIORITY_IN:
            raise ValueError(f"unknown priority_id {priority!r}")
        contact = self._contact(item)
        details = str(item.get("details") or "")
        body = html_to_text(details) if "<" in details else details
        opening = NormalizedMessage(
            external_id=f"ticket-{ticket_id}",
            body=body,
            author_label=contact.name or contact.email,
            created_at=parse_time(item.get("dateoccurred")),
        )
        actions = self._call("GET", "/api/Actions", params={"ticket_id": ticket_id, "excludesys": "true"})
        listed = actions.get("actions") if isinstance(actions, dict) else None
        if not isinstance(listed, list):
            raise ValueError(f"the actions of ticket {ticket_id} are not a list")
        return NormalizedTicket(
            external_id=str(ticket_id),
            title=str(item.get("summary") or "")[:500],
            body=body,
            contact=contact,
            status=self._status_in(item.get("status_id")),
            priority=PRIORITY_IN.get(priority) if priority is not None else None,
            messages=(opening, *(_message(a) for a in listed)),
        )

    def _contact(self, item: Mapping[str, Any]) -> NormalizedContact:
        """The ticket's end user, read from Halo's Users (their email is the requester identity)."""
        user_id = item.get("user_id")
        if not isinstance(user_id, int) or user_id <= 0:
            return NormalizedContact(name=str(item.get("user_name") or ""))
        if user_id not in self._users:
            user = self._call("GET", f"/api/Users/{user_id}")
            self._users[user_id] = user if isinstance(user, dict) else {}
        user = self._users[user_id]
        return NormalizedContact(
            email=str(user.get("emailaddress") or ""),
            name=str(user.get("name") or item.get("user_name") or ""),
            external_id=str(user_id),
        )

    def verify_webhook(self, body: bytes, headers: Mapping[str, str]) -> None:
        secret = check_secret(str(self.config.get("webhook_secret", "")), self.label)
        given = headers.get("Authorization", "")
        scheme, _, value = given.partition(" ")
        if scheme.lower() == "basic":
            try:
                value = base64.b64decode(value.strip(), validate=True).decode().partition(":")[2]
            except (binascii.Error, UnicodeDecodeError):
                raise SignatureError("The Basic authorization header is not base64 of user:password.") from None
        elif scheme.lower() != "bearer":
            raise SignatureError(
                "Missing authorization: set the Halo webhook's authentication to Basic (any user name, the "
                "source's webhook secret as password)."
            )
        if not constant_equal(value, secret):
            raise SignatureError("The webhook's credentials are not this source's webhook secret.")

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> NormalizedTicket:
        data = load_json(body)
        if isinstance(data, list):
            raise PayloadError(
                "A batched delivery (a list): set the Halo webhook's batching to None, one event per delivery.",
                field="(body)",
            )
        ticket_id = _webhook_ticket_id(data)
        if not ticket_id.isdigit():
            raise PayloadError(
                "No ticket id: Halo's webhook body must carry the 'ticket' object (or the action's ticket_id).",
                field="ticket.id",
            )
        item = self._call("GET", f"/api/Tickets/{ticket_id}")
        try:
            return self._ticket(item)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise PayloadError(f"HaloPSA ticket {ticket_id} could not be read: {exc}", field="ticket") from exc

    # --- outbound ----------------------------------------------------------------------------
    def post_reply(self, message: OutboundMessage) -> Delivered:
        ticket_id = int(message.ticket_external_id)
        hidden = message.kind == "internal_note"
        landed = self._already_written(ticket_id, message, hidden=hidden)
        if landed is not None:
            return Delivered(external_id=f"action-{landed}")
        action = {
            "ticket_id": ticket_id,
            "note": message.body,
            "outcome": str(self.config.get("note_outcome" if hidden else "reply_outcome") or "")
            or (NOTE_OUTCOME if hidden else REPLY_OUTCOME),
            "hiddenfromuser": hidden,
            "sendemail": not hidden,
        }
        answer = self._call("POST", "/api/Actions", write=True, json=[action])
        written = answer[0] if isinstance(answer, list) and answer else answer
        if not isinstance(written, dict) or "id" not in written:
            raise SourceError("HaloPSA accepted the action but did not say its id.")
        return Delivered(external_id=f"action-{written['id']}")

    def _already_written(self, ticket_id: int, message: OutboundMessage, *, hidden: bool) -> int | None:
        """The id of an action an earlier attempt of this message wrote, if Halo has it."""
        created = uuid7_time(message.message_id)
        answer = self._call("GET", "/api/Actions", params={"ticket_id": ticket_id, "excludesys": "true"})
        for action in answer.get("actions", []) if isinstance(answer, dict) else []:
            moment = parse_time(action.get("datetime"))
            if created is not None and (moment is None or moment < created - CLOCK_SKEW):
                continue
            same_text = html_to_text(str(action.get("note") or "")).strip() == message.body.strip()
            if same_text and bool(action.get("hiddenfromuser")) == hidden and action.get("who_agentid"):
                return int(action["id"])
        return None

    def _update(self, ticket_external_id: str, fields: dict[str, Any]) -> None:
        self._call("POST", "/api/Tickets", write=True, json=[{"id": int(ticket_external_id), **fields}])

    def update_status(self, ticket_external_id: str, status: str) -> None:
        custom = {v: int(k) for k, v in dict(self.config.get("status_ids") or {}).items()}
        self._update(ticket_external_id, {"status_id": custom.get(status) or STATUS_OUT[status]})

    def update_priority(self, ticket_external_id: str, priority: str) -> None:
        self._update(ticket_external_id, {"priority_id": PRIORITY_OUT[priority]})

    def assign(self, ticket_external_id: str, assignee_email: str) -> None:
        if not assignee_email:
            self._update(ticket_external_id, {"agent_id": 0})
            return
        wanted = assignee_email.strip().lower()
        agents = self._call("GET", "/api/Agent")
        listed = agents if isinstance(agents, list) else []
        agent = next((a for a in listed if isinstance(a, dict) and str(a.get("email", "")).lower() == wanted), None)
        if agent is None:
            raise SourceError(f"HaloPSA has no agent with the email {assignee_email}.")
        self._update(ticket_external_id, {"agent_id": int(agent["id"])})

    def log_time_entry(self, ticket_external_id: str, *, minutes: int, note: str, billable: bool) -> None:
        """Time in Halo is an action with hours: ``timetaken`` worked; billable time is ``timetakenadjusted``,
        non-billable goes to ``nonbilltime``. A private note, so the end user is not emailed about it."""
        hours = round(minutes / 60, 4)
        action = {
            "ticket_id": int(ticket_external_id),
            "note": note,
            "outcome": str(self.config.get("time_outcome") or NOTE_OUTCOME),
            "hiddenfromuser": True,
            "timetaken": hours,
            "timetakenadjusted": hours if billable else 0,
            "nonbilltime": 0 if billable else hours,
        }
        self._call("POST", "/api/Actions", write=True, json=[action])

    def write_time_entry(self, entry: TimeEntry) -> str:
        """The time action of ``log_time_entry`` with the billing rule's charge rate (``chargerate``), contract
        (``contract_id``) and agent (``who_agentid``, Gaby's own agent in Halo) when the rule names them."""
        hours = round(entry.minutes / 60, 4)
        action: dict[str, Any] = {
            "ticket_id": int(entry.ticket_external_id),
            "note": f"{entry.note}\n\n{entry.marker}" if entry.note else entry.marker,
            "outcome": str(self.config.get("time_outcome") or NOTE_OUTCOME),
            "hiddenfromuser": True,
            "timetaken": hours,
            "timetakenadjusted": hours if entry.billable else 0,
            "nonbilltime": 0 if entry.billable else hours,
        }
        for field, value in (("chargerate", entry.work_type), ("contract_id", entry.agreement_id)):
            if value:
                action[field] = int(value) if value.isdigit() else value
        if entry.member_id:
            action["who_agentid"] = int(entry.member_id) if entry.member_id.isdigit() else entry.member_id
        answer = self._call("POST", "/api/Actions", write=True, json=[action])
        written = answer[0] if isinstance(answer, list) and answer else answer
        return f"action-{written['id']}" if isinstance(written, dict) and "id" in written else ""

    def find_time_entry(self, entry: TimeEntry) -> str | None:
        """Halo takes no idempotency key: the action whose note carries the entry's marker is the one written."""
        answer = self._call("GET", "/api/Actions", params={"ticket_id": int(entry.ticket_external_id)})
        for action in answer.get("actions", []) if isinstance(answer, dict) else []:
            if entry.marker in html_to_text(str(action.get("note") or "")):
                return f"action-{action['id']}"
        return None


def _message(action: Any) -> NormalizedMessage:
    if not isinstance(action, dict) or not isinstance(action.get("id"), int):
        raise ValueError(f"an action without an id: {str(action)[:100]}")
    note = str(action.get("note") or "")
    by_agent = bool(action.get("who_agentid"))
    return NormalizedMessage(
        external_id=f"action-{action['id']}",
        body=html_to_text(note) if "<" in note else note,
        author_label=str(action.get("who") or ""),
        direction="outbound" if by_agent else "inbound",
        kind="internal_note" if action.get("hiddenfromuser") else "public_reply",
        created_at=parse_time(action.get("datetime")),
    )


def _webhook_ticket_id(data: Any) -> str:
    """Halo posts the ticket object (and the action, when an action fired the event); the ticket's id is all
    Gaby takes. A top-level ``id`` is read only when the body has neither (a custom payload naming the ticket)."""
    if not isinstance(data, dict):
        return ""
    ticket, action = data.get("ticket"), data.get("action")
    for raw in (
        ticket.get("id") if isinstance(ticket, dict) else None,
        action.get("ticket_id") if isinstance(action, dict) else None,
        data.get("ticket_id"),
        data.get("id") if ticket is None and action is None else None,
    ):
        if raw is not None and not isinstance(raw, bool):
            return str(raw).strip()
    return ""
