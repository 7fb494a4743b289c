"""ConnectWise PSA (Manage): one Manage company's service tickets, pulled by last update, read again on callbacks.

Auth: an API member's public and private keys, sent as ``Authorization: Basic base64(companyId+publicKey:
privateKey)`` with the integration's ``clientId`` header on every call (no token to mint). Each Gaby client's
source is filtered to one Manage company (``cw_company_id``, the company's record id): a ticket of another
company is never ingested here, whichever way it arrives.

Pull: ``GET /service/tickets?conditions=company/id = N and lastUpdated > [t]&orderBy=lastUpdated asc`` with a
keyset cursor (last update, then ticket id) rather than page numbers, so a ticket updated mid-pull moves to the
end instead of shifting the pages and hiding one; ``Link: rel="next"`` says more remain. A ticket's thread is
its notes (``/service/tickets/{id}/notes``, the first ``detailDescriptionFlag`` note is its description);
the requester is its contact, whose email is read from ``/company/contacts/{id}``.

Callbacks: Manage posts a summary (``ID``, ``Type``, ``Action``, the entity as a JSON string) to the URL
registered at ``/system/callbacks``. Manage cannot add a header of Gaby's choosing to it, so the URL carries the
source's secret (``/api/v1/sources/{id}/callback/connectwise/{secret}``, apps/tickets/api_connectwise.py);
Gaby takes the ticket's id and reads the ticket again through the API rather than trusting the body.

Writes: replies are notes with ``detailDescriptionFlag`` (Discussion; ``processNotifications`` lets the board
email the contact), internal notes ``internalAnalysisFlag``; status, priority and owner are one JSON Patch each;
time is ``POST /time/entries`` charged to the service ticket, its notes ending with the record's marker
(``[gaby-time:<id>]``) so a retry finds an entry a lost attempt wrote (``GET /time/entries`` with ``notes
contains``) instead of writing it twice. Manage takes no idempotency key, so a write is
sent once per attempt and an attempt after a failure first looks for the note a lost attempt may have written
(same text and flags, by a member, since Gaby created the message); the delivery claim (apps/tickets/delivery.py)
makes sure only one worker attempts at a time.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlencode, urlsplit

from django.utils import timezone

from apps.tickets.normalized import NormalizedContact, NormalizedTicket
from apps.tickets.sources.base import Delivered, OutboundMessage, Page, PayloadError, SignatureError, SourceError, Step
from apps.tickets.sources.connectwise import shapes
from apps.tickets.sources.http import SourceHttp
from apps.tickets.sources.vendor import (
    HttpAdapter,
    IgnoredDelivery,
    check_secret,
    constant_equal,
    iso_z,
    json_and_next,
    load_json,
    parse_time,
    rejected,
    uuid7_time,
)

if TYPE_CHECKING:  # annotations only
    from apps.tickets.sources.base import TimeEntry

API_PATH = "/v4_6_release/apis/3.0"
TICKET_PAGE = "/v4_6_release/services/system_io/Service/fv_sr100_request.rails"  # Manage's ticket deep link
PAGE_SIZE = 50
NOTES_PAGE_SIZE = 1000  # Manage's largest page: a thread is one request
CLOCK_SKEW = timedelta(minutes=5)  # Manage's clock against Gaby's, when looking for a note a lost attempt wrote
# The callback route puts the secret it found in the URL here, so verify_webhook checks it like any other secret.
CALLBACK_SECRET_HEADER = "X-Gaby-Callback-Secret"


class ManageHttp(SourceHttp):
    """The seam, with Manage's refusals of the keys (401) and the clientId (403) told as what to fix."""

    refusals: ClassVar[Mapping[int, str]] = {
        401: "ConnectWise refused the API member's keys ({error}); check the company id, public key and private key "
        "(System → Members → API Members → API Keys).",
        403: "ConnectWise refused the request ({error}); check the clientId (developer.connectwise.com → Client IDs) "
        "and the API member's security role.",
    }


class ConnectWiseAdapter(HttpAdapter):
    kind: ClassVar[str] = "connectwise"
    label: ClassVar[str] = "ConnectWise PSA"
    sink_kinds: ClassVar[frozenset[str]] = frozenset({"public_reply", "internal_note"})
    # Manage's tickets have no free tag list (types and subtypes are configured per board): tags stay in Gaby.
    writable_fields: ClassVar[frozenset[str]] = frozenset({"status", "priority", "assignee"})

    def __init__(self, *, source_id: str, config: Mapping[str, Any]) -> None:
        super().__init__(source_id=source_id, config=config)
        self._contacts: dict[int, dict[str, Any]] = {}

    def _headers(self) -> dict[str, str]:
        login = f"{self.setting('company_id')}+{self.setting('public_key')}:{self.setting('private_key')}"
        return {
            "Authorization": "Basic " + base64.b64encode(login.encode()).decode(),
            "clientId": self.setting("client_id"),
            "Accept": "application/json",
        }

    def _api_root(self) -> str:
        return self.setting("site_url").rstrip("/") + API_PATH

    def build_http(self) -> SourceHttp:
        return ManageHttp(self._api_root(), headers=self._headers())

    def ticket_url(self, ticket_external_id: str) -> str | None:
        """Manage's service ticket page: the documented deep link ``fv_sr100_request.rails?service_recid=<id>``
        with the company id, under the site's release path."""
        query = urlencode({"service_recid": ticket_external_id, "companyName": self.setting("company_id")})
        site = urlsplit(self.setting("site_url"))
        host = site.netloc.removeprefix("api-")  # the cloud's API host api-na.… serves the web UI as na.…
        return f"{site.scheme}://{host}{TICKET_PAGE}?{query}"

    def build_writer(self) -> SourceHttp:
        return ManageHttp(self._api_root(), headers=self._headers(), max_attempts=1)

    @property
    def cw_company_id(self) -> int:
        return self.id_setting("cw_company_id", "a ConnectWise company record id")

    def _read(self, url: str, **params: Any) -> Any:
        return self.http.json("GET", url, params=params or None)

    def _all(self, url: str, **params: Any) -> list[dict[str, Any]]:
        """Every item of a list, following ``Link: rel="next"``."""
        items: list[dict[str, Any]] = []
        next_url: str | None = url
        query: dict[str, Any] | None = {"pageSize": NOTES_PAGE_SIZE, **params}
        while next_url:
            data, next_url = json_and_next(self.http, next_url, params=query)
            if not isinstance(data, list):
                raise SourceError(f"ConnectWise answered {url} with something other than a list: {str(data)[:200]}")
            items.extend(item for item in data if isinstance(item, dict))
            query = None  # the next link carries the query
        return items

    def companies(self) -> dict[int, str]:
        """Every active company this API member sees, id → name (``GET /company/companies``)."""
        listed = self._all("/company/companies", conditions="deletedFlag = false", orderBy="id asc")
        return {int(c["id"]): str(c.get("name") or c.get("identifier") or "") for c in listed if "id" in c}

    # --- inbound -----------------------------------------------------------------------------
    def pull_since(self, cursor: Mapping[str, Any]) -> Page:
        since = str(cursor.get("since") or "")
        if not since:
            since = iso_z(timezone.now() - timedelta(days=int(self.config.get("backfill_days") or 30)))
        after_id = int(cursor.get("after_id") or 0)
        company = f"company/id = {self.cw_company_id}"
        # Keyset paging: strictly later, or the same second and a higher id (Manage keeps whole seconds).
        conditions = (
            f"{company} and lastUpdated > [{since}] or {company} and lastUpdated = [{since}] and id > {after_id}"
        )
        params = {
            "conditions": conditions,
            "orderBy": "lastUpdated asc, id asc",
            "pageSize": int(self.config.get("page_size") or PAGE_SIZE),
        }
        data, next_url = json_and_next(self.http, "/service/tickets", params=params)
        if not isinstance(data, list):
            raise SourceError(
                f"ConnectWise answered the ticket list with something other than a list: {str(data)[:200]}"
            )
        steps: list[Step] = []
        last = {"since": since, "after_id": after_id}
        for item in data:
            try:
                moment = parse_time((item.get("_info") or {}).get("lastUpdated"))
                if moment is None or not isinstance(item.get("id"), int):
                    raise ValueError("a ticket without an id or _info.lastUpdated")
                last = {"since": iso_z(moment), "after_id": int(item["id"])}
                steps.append(Step(self._ticket(item), dict(last)))
            except IgnoredDelivery:
                steps.append(Step("ticket of another ConnectWise company", dict(last)))
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                error = f"ConnectWise ticket could not be read: {exc.__class__.__name__}: {exc}"
                steps.append(Step(rejected(item, error), dict(last)))
        return Page([], dict(last), has_more=bool(next_url and data), steps=steps)

    def _ticket(self, item: Any) -> NormalizedTicket:
        ticket_id = item["id"]
        if not isinstance(ticket_id, int) or isinstance(ticket_id, bool):
            raise ValueError(f"ticket id {ticket_id!r} is not a number")
        company = item.get("company") or {}
        if company.get("id") != self.cw_company_id:
            raise IgnoredDelivery(f"ticket {ticket_id} belongs to ConnectWise company {company.get('id')!r}.")
        priority = item.get("priority")
        priority_name = str(priority.get("name") or "") if isinstance(priority, dict) else ""
        notes = sorted(self._all(f"/service/tickets/{ticket_id}/notes"), key=lambda n: n.get("dateCreated") or "")
        messages = tuple(shapes.message(note) for note in notes)
        description = next((m for m, n in zip(messages, notes, strict=True) if n.get("detailDescriptionFlag")), None)
        return NormalizedTicket(
            external_id=str(ticket_id),
            title=str(item.get("summary") or "")[:500],
            body=description.body if description else "",
            contact=self._contact(item),
            status=shapes.status_in(item, self.config),
            priority=shapes.priority_in(priority_name, self.config) if priority_name else None,
            messages=messages,
        )

    def _contact(self, item: Mapping[str, Any]) -> NormalizedContact:
        """The ticket's contact, read from Manage's contacts (their email is the requester identity)."""
        given = item.get("contact")
        reference: Mapping[str, Any] = given if isinstance(given, dict) else {}
        contact_id = reference.get("id")
        if not isinstance(contact_id, int) or contact_id <= 0:
            return NormalizedContact(name=str(reference.get("name") or ""))
        if contact_id not in self._contacts:
            found = self._read(f"/company/contacts/{contact_id}")
            self._contacts[contact_id] = found if isinstance(found, dict) else {}
        contact = self._contacts[contact_id]
        name = " ".join(str(contact.get(k) or "") for k in ("firstName", "lastName")).strip()
        return NormalizedContact(
            email=shapes.contact_email(contact),
            name=name or str(reference.get("name") or ""),
            external_id=str(contact_id),
        )

    def verify_webhook(self, body: bytes, headers: Mapping[str, str]) -> None:
        secret = check_secret(str(self.config.get("callback_secret", "")), self.label)
        given = headers.get(CALLBACK_SECRET_HEADER, "")
        if not given:
            raise SignatureError(
                "No secret: register the callback URL Gaby printed, which ends with the source's callback secret."
            )
        if not constant_equal(given, secret):
            raise SignatureError("The callback URL's secret is not this source's callback secret.")

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> NormalizedTicket:
        data = load_json(body)
        if not isinstance(data, dict):
            raise PayloadError("A ConnectWise callback is one JSON object.", field="(body)")
        kind = str(data.get("Type") or "").lower()
        if kind != "ticket":
            raise PayloadError(
                f"A callback of type {data.get('Type')!r}: register the callback with type Ticket.", field="Type"
            )
        ticket_id = data.get("ID")
        if not isinstance(ticket_id, int) or isinstance(ticket_id, bool) or ticket_id <= 0:
            raise PayloadError("No ticket id: a ConnectWise ticket callback carries the ticket's ID.", field="ID")
        if str(data.get("Action") or "").lower() == "deleted":
            raise IgnoredDelivery(f"ticket {ticket_id} was deleted in ConnectWise; Gaby keeps its copy.")
        item = self._read(f"/service/tickets/{ticket_id}")
        try:
            return self._ticket(item)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise PayloadError(f"ConnectWise ticket {ticket_id} could not be read: {exc}", field="Entity") from exc

    def register_callback(self, url: str, *, description: str = "Gaby") -> int:
        """Ask Manage to post this company's ticket saves to ``url`` (``POST /system/callbacks``, level Company)."""
        body = {
            "url": url,
            "objectId": self.cw_company_id,
            "type": "Ticket",
            "level": "Company",
            "description": description[:100],
        }
        answer = self.writer.json("POST", "/system/callbacks", json=body)
        if not isinstance(answer, dict) or "id" not in answer:
            raise SourceError("ConnectWise accepted the callback but did not say its id.")
        return int(answer["id"])

    # --- outbound ----------------------------------------------------------------------------
    def post_reply(self, message: OutboundMessage) -> Delivered:
        ticket_id = int(message.ticket_external_id)
        internal = message.kind == "internal_note"
        flags = {"internalAnalysisFlag": True} if internal else {"detailDescriptionFlag": True}
        landed = self._already_written(ticket_id, message, flags)
        if landed is not None:
            return Delivered(external_id=f"note-{landed}")
        note = {"text": message.body, **flags, "processNotifications": not internal}
        written = self.writer.json("POST", f"/service/tickets/{ticket_id}/notes", json=note)
        if not isinstance(written, dict) or "id" not in written:
            raise SourceError("ConnectWise accepted the note but did not say its id.")
        return Delivered(external_id=f"note-{written['id']}")

    def _already_written(self, ticket_id: int, message: OutboundMessage, flags: Mapping[str, bool]) -> int | None:
        """The id of a note an earlier attempt of this message wrote, if Manage has it."""
        created = uuid7_time(message.message_id)
        for note in self._all(f"/service/tickets/{ticket_id}/notes"):
            moment = parse_time(note.get("dateCreated"))
            if created is not None and (moment is None or moment < created - CLOCK_SKEW):
                continue
            same_flags = all(bool(note.get(flag)) == value for flag, value in flags.items())
            same_text = str(note.get("text") or "").strip() == message.body.strip()
            if same_text and same_flags and isinstance(note.get("member"), dict):
                return int(note["id"])
        return None

    def _patch(self, ticket_external_id: str, operations: list[dict[str, Any]]) -> None:
        self.writer.json("PATCH", f"/service/tickets/{int(ticket_external_id)}", json=operations)

    def update_status(self, ticket_external_id: str, status: str) -> None:
        ticket = self._read(f"/service/tickets/{int(ticket_external_id)}")
        board = (ticket.get("board") or {}).get("id") if isinstance(ticket, dict) else None
        if not isinstance(board, int):
            raise SourceError(f"ConnectWise ticket {ticket_external_id} has no service board to take a status from.")
        wanted = shapes.status_name_out(status, self.config)
        statuses = self._all(f"/service/boards/{board}/statuses")
        found = next((s for s in statuses if str(s.get("name", "")).lower().lstrip(">") == wanted.lower()), None)
        if found is None:
            names = ", ".join(str(s.get("name")) for s in statuses)
            raise SourceError(
                f"Board {board} has no status named {wanted!r} (it has: {names}); map Gaby's {status!r} to one of "
                "them in the source's 'statuses' setting."
            )
        self._patch(ticket_external_id, [{"op": "replace", "path": "status", "value": {"id": found["id"]}}])

    def update_priority(self, ticket_external_id: str, priority: str) -> None:
        listed = self._all("/service/priorities")
        found = None
        for item in listed:
            try:
                if shapes.priority_in(str(item.get("name") or ""), self.config) == priority:
                    found = item
                    break
            except ValueError:
                continue  # a priority Gaby has no name for is never the one asked for
        if found is None:
            raise SourceError(f"ConnectWise has no priority Gaby reads as {priority!r}; map one in 'priorities'.")
        self._patch(ticket_external_id, [{"op": "replace", "path": "priority", "value": {"id": found["id"]}}])

    def assign(self, ticket_external_id: str, assignee_email: str) -> None:
        if not assignee_email:
            self._patch(ticket_external_id, [{"op": "remove", "path": "owner"}])
            return
        wanted = assignee_email.strip().lower().replace('"', "")
        members = self._all("/system/members", conditions=f'officeEmail = "{wanted}"')
        if not members:
            raise SourceError(f"ConnectWise has no member with the office email {assignee_email}.")
        self._patch(ticket_external_id, [{"op": "replace", "path": "owner", "value": {"id": int(members[0]["id"])}}])

    def _time_body(
        self,
        ticket_external_id: str,
        *,
        minutes: int,
        note: str,
        billable: bool,
        member: str = "",
        work_type: str = "",
        agreement: str = "",
    ) -> dict[str, Any]:
        """A time entry ending now. ``member`` and ``work_type`` (a billing rule's) win over the source's own
        ``time_member`` / ``time_work_type``; each is sent by id when it is a number, else by identifier / name."""
        if minutes <= 0:
            raise SourceError(f"A time entry needs a positive number of minutes, not {minutes}.")
        end = timezone.now().replace(microsecond=0)
        entry: dict[str, Any] = {
            "chargeToType": "ServiceTicket",
            "chargeToId": int(ticket_external_id),
            "timeStart": iso_z(end - timedelta(minutes=minutes)),
            "timeEnd": iso_z(end),
            "actualHours": round(minutes / 60, 4),
            "billableOption": "Billable" if billable else "DoNotBill",
            "notes": note,
        }
        member = member or str(self.config.get("time_member") or "")
        work_type = work_type or str(self.config.get("time_work_type") or "")
        if member:
            entry["member"] = _reference(member, "identifier")
        if work_type:
            entry["workType"] = _reference(work_type, "name")
        if agreement:
            if not agreement.isdigit():
                raise SourceError(f"A ConnectWise agreement is given by its number, not {agreement!r}.")
            entry["agreement"] = {"id": int(agreement)}
        return entry

    def log_time_entry(self, ticket_external_id: str, *, minutes: int, note: str, billable: bool) -> None:
        """A time entry charged to the service ticket, ending now: ``billableOption`` Billable or DoNotBill; the
        member is the API member unless ``time_member`` names another (by identifier), the work type
        ``time_work_type`` (by name) when set, else the member's default."""
        body = self._time_body(ticket_external_id, minutes=minutes, note=note, billable=billable)
        self.writer.json("POST", "/time/entries", json=body)

    def write_time_entry(self, entry: TimeEntry) -> str:
        """The time entry of ``log_time_entry`` with the record's marker in its notes (once, even when the note
        already carries it), so ``find_time_entry`` can tell after a lost answer; returns Manage's entry id."""
        if entry.marker in entry.note:
            note = entry.note
        else:
            note = f"{entry.note}\n\n{entry.marker}" if entry.note else entry.marker
        body = self._time_body(
            entry.ticket_external_id,
            minutes=entry.minutes,
            note=note,
            billable=entry.billable,
            member=entry.member_id,
            work_type=entry.work_type,
            agreement=entry.agreement_id,
        )
        written = self.writer.json("POST", "/time/entries", json=body)
        return str(written["id"]) if isinstance(written, dict) and "id" in written else ""

    def find_time_entry(self, entry: TimeEntry) -> str | None:
        """Manage takes no idempotency key: the entry charged to the ticket whose notes carry the marker is the one
        an earlier attempt wrote. The server-side ``contains`` leaves out the marker's brackets, which SQL Server's
        LIKE (behind Manage's ``contains``) may read as a character class; the exact marker is checked here."""
        if not entry.ticket_external_id.isdigit():
            raise SourceError(f"{entry.ticket_external_id!r} is not a ConnectWise service ticket id.")
        wanted = entry.marker[1:-1].replace('"', "")
        conditions = (
            f'chargeToType = "ServiceTicket" and chargeToId = {int(entry.ticket_external_id)} '
            f'and notes contains "{wanted}"'
        )
        for found in self._all("/time/entries", conditions=conditions, orderBy="id asc"):
            if entry.marker in str(found.get("notes") or "") and "id" in found:
                return str(found["id"])
        return None


def _reference(value: str, by: str) -> dict[str, Any]:
    """A Manage reference: ``{"id": n}`` for a number, else ``{by: value}`` (a member's identifier, a work type's
    name)."""
    return {"id": int(value)} if value.isdigit() else {by: value}
