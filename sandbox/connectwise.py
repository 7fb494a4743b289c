"""A ConnectWise PSA (Manage) stand-in: the REST API 3.0 parts Gaby's ticket adapter and time write-back use.

Follows ConnectWise's documented API: every call goes to ``/v4_6_release/apis/3.0/...`` with
``Authorization: Basic base64(companyId+publicKey:privateKey)`` (an API member's keys) and a ``clientId``
header (the integration's id from the developer portal); wrong keys answer 401, a missing or unknown clientId
403. Lists take ``conditions`` (sandbox/connectwise_conditions.py), ``orderBy``, ``page`` (from 1) and
``pageSize`` (default 25, at most 1000) and answer a bare JSON array with a ``Link`` header naming the
``next`` / ``last`` pages. Ticket changes are ``PATCH`` with a JSON Patch array; notes are
``/service/tickets/{id}/notes``; time is ``POST /time/entries`` charged to a service ticket; callbacks are
registered at ``/system/callbacks``. Errors carry Manage's body: ``code``, ``message`` and ``errors[]``.

Faults: ``fail_next`` (sandbox.base) answers a 429 with Retry-After or a 5xx first; ``lose_next_answer`` performs
a write and answers 504 (the gateway timed out after Manage committed it); ``rate_limit=(n, seconds)``.

Inspect: ``tickets``, ``notes``, ``time_entries``, ``patches`` (JSON Patch arrays received, per ticket),
``callbacks``. ``callback_body(ticket_id)`` is what Manage posts to a callback URL when a ticket is saved;
``fire_callbacks(ticket_id)`` posts it to every registered callback that covers the ticket.
Run alone for the demo: ``python -m sandbox.connectwise --port 8191`` (serves DEMO_SEED).
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import re
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from sandbox import connectwise_conditions as conditions
from sandbox.base import Request, Response, Sandbox, serve_from_command_line
from sandbox.connectwise_records import Invalid, TimeAndCallbacks, now
from sandbox.connectwise_seed import BOARDS, DEMO_SEED, PRIORITIES, STATUSES, WORK_TYPES
from sandbox.faults import LostAnswers, Throttle

API = "/v4_6_release/apis/3.0"
DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE = 25, 1000
NOTE_FLAGS = ("detailDescriptionFlag", "internalAnalysisFlag", "resolutionFlag")
PATCHABLE = {"status", "priority", "owner", "summary"}


def _sort_key(value: Any) -> tuple[int, Any]:
    """Numbers sort as numbers, everything else as text; missing values first (as SQL's NULLs sort)."""
    if value is None:
        return (0, "")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (1, value)
    return (2, str(value))


def _by(field: str) -> Callable[[dict[str, Any]], tuple[int, Any]]:
    return lambda item: _sort_key(conditions.lookup(item, field)[1])


class ConnectWiseSandbox(TimeAndCallbacks, Sandbox):
    name = "connectwise"

    def __init__(self, seed: dict[str, Any] | None = None, *, rate_limit: tuple[int, float] | None = None) -> None:
        super().__init__()
        self.throttle = Throttle(rate_limit)
        self.lost = LostAnswers()
        data = copy.deepcopy(seed if seed is not None else DEMO_SEED)
        self.company_id: str = data["company_id"]
        self.api_members: dict[str, str] = data["api_members"]
        self.client_ids: set[str] = set(data["client_ids"])
        self.companies = {c["id"]: c for c in data["companies"]}
        self.contacts = {c["id"]: c for c in data["contacts"]}
        self.members = {m["id"]: m for m in data["members"]}
        self.api_member = next(m for m in self.members.values() if m["identifier"] == data["api_member_identifier"])
        self.tickets: dict[int, dict[str, Any]] = {}
        self.notes: dict[int, dict[str, Any]] = {}
        for ticket in data["tickets"]:
            for note in ticket.pop("notes", []):
                self.notes[note["id"]] = {"ticketId": ticket["id"], **note}
            self.tickets[ticket["id"]] = ticket
        self.time_entries: dict[int, dict[str, Any]] = {}
        self.callbacks: dict[int, dict[str, Any]] = {}
        self.patches: list[tuple[int, list[Any]]] = []
        # The site's own lists (a test may rename a status or priority, as an MSP's admin does).
        self.statuses = copy.deepcopy(STATUSES)
        self.priorities = copy.deepcopy(PRIORITIES)
        self.work_types = copy.deepcopy(WORK_TYPES)

    # --- test controls -----------------------------------------------------------------------------
    def lose_next_answer(self, method: str, path: str) -> None:
        """Perform the next ``method`` on ``path`` (below the API root), then answer 504."""
        with self.lock:
            self.lost.add(method, API + path)

    def add_note(self, ticket_id: int, text: str, *, contact_id: int | None = None, internal: bool = False) -> int:
        """The ticket's contact (or, with ``internal``, a technician) adds a note, as Manage's own screens would."""
        with self.lock:
            ticket = self.tickets[ticket_id]
            who = {"member_id": 151} if internal else {"contact_id": contact_id or ticket["contact_id"]}
            flags = {"internalAnalysisFlag": True} if internal else {"detailDescriptionFlag": True}
            return int(self._new_note(ticket, text=text, **flags, **who)["id"])

    def ticket_notes(self, ticket_id: int) -> list[dict[str, Any]]:
        with self.lock:
            return [self._note_out(n) for n in self.notes.values() if n["ticketId"] == ticket_id]

    def callback_body(self, ticket_id: int, action: str = "updated") -> dict[str, Any]:
        """What Manage posts to a callback URL when a ticket is saved: a summary, the entity as a JSON string."""
        with self.lock:
            ticket = self._ticket_out(self.tickets[ticket_id])
            return {
                "MessageId": str(uuid.uuid4()),
                "FromUrl": "na.myconnectwise.net",
                "CompanyId": self.company_id,
                "MemberId": self.api_member["identifier"],
                "Action": action,
                "Type": "ticket",
                "ID": ticket_id,
                "ProductInstanceId": None,
                "PartnerId": None,
                "Entity": json.dumps(ticket),
                "CallbackObjectRecId": 0,
            }

    # --- dispatch ----------------------------------------------------------------------------------
    def dispatch(self, request: Request) -> Response:
        response = super().dispatch(request)
        with self.lock:
            return self.lost.answer(request, response)

    def handle(self, request: Request) -> Response:
        if not request.path.startswith(API + "/"):
            return Response(404, self.error_body(404, f"No route {request.path}"))
        throttled = self.throttle.check(lambda wait: self.error_body(429, "Too many requests"))
        if throttled is not None:
            return throttled
        refused = self._refused(request)
        if refused is not None:
            return refused
        try:
            return self._api(request.method, request.path.removeprefix(API), request)
        except Invalid as exc:
            return Response(400, self._invalid(exc))
        except conditions.ConditionError as exc:
            return Response(400, self._invalid(Invalid(str(exc), field="conditions", code="InvalidCondition")))

    def _refused(self, request: Request) -> Response | None:
        client_id = request.headers.get("clientid", "")
        if not client_id:
            return Response(403, {"code": "Forbidden", "message": "A clientId header is required.", "errors": None})
        if client_id not in self.client_ids:
            return Response(
                403, {"code": "Forbidden", "message": f"clientId {client_id} is not valid.", "errors": None}
            )
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        try:
            user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            user = password = ""
        company, _, public = user.partition("+")
        if scheme.lower() != "basic" or company.lower() != self.company_id.lower():
            return Response(401, {"code": "Unauthorized", "message": "Authentication failed.", "errors": None})
        if not public or self.api_members.get(public) != password:
            return Response(401, {"code": "Unauthorized", "message": "Authentication failed.", "errors": None})
        return None

    def _api(self, method: str, path: str, request: Request) -> Response:
        match = re.fullmatch(r"/service/tickets/(\d+)(/notes)?", path)
        if match:
            ticket = self.tickets.get(int(match.group(1)))
            if ticket is None:
                return Response(404, self.error_body(404, f"Ticket {match.group(1)} not found"))
            if match.group(2):
                if method == "GET":
                    mine = [self._note_out(n) for n in self.notes.values() if n["ticketId"] == ticket["id"]]
                    return self._list(request, mine)
                if method == "POST":
                    return Response(201, self._note_out(self._post_note(ticket, request.json())))
            elif method == "GET":
                return Response(200, self._ticket_out(ticket))
            elif method == "PATCH":
                return Response(200, self._patch(ticket, request.json()))
            return Response(405, self.error_body(405, f"{method} is not allowed here"))
        contact = re.fullmatch(r"/company/contacts/(\d+)", path)
        if method == "GET" and contact:
            found = self.contacts.get(int(contact.group(1)))
            if found is None:
                return Response(404, self.error_body(404, f"Contact {contact.group(1)} not found"))
            return Response(200, self._contact_out(found))
        board = re.fullmatch(r"/service/boards/(\d+)/statuses", path)
        if method == "GET" and board:
            return self._list(request, [s for s in self.statuses if s["boardId"] == int(board.group(1))])
        listings = {
            "/service/tickets": lambda: [self._ticket_out(t) for t in self.tickets.values()],
            "/service/boards": lambda: BOARDS,
            "/service/priorities": lambda: self.priorities,
            "/company/companies": lambda: list(self.companies.values()),
            "/company/contacts": lambda: [self._contact_out(c) for c in self.contacts.values()],
            "/system/members": lambda: list(self.members.values()),
            "/time/workTypes": lambda: self.work_types,
            "/time/entries": lambda: list(self.time_entries.values()),
            "/system/callbacks": lambda: list(self.callbacks.values()),
        }
        if method == "GET" and path in listings:
            return self._list(request, listings[path]())
        if method == "POST" and path == "/time/entries":
            return Response(201, self._post_time(request.json()))
        if method == "POST" and path == "/system/callbacks":
            return Response(201, self._post_callback(request.json()))
        return Response(404, self.error_body(404, f"No route {method} {path}"))

    # --- lists -------------------------------------------------------------------------------------
    def _list(self, request: Request, items: list[dict[str, Any]]) -> Response:
        text = request.arg("conditions")
        if text:
            sample = items[0] if items else {}
            matches = conditions.parse(text, known=lambda f: not items or conditions.lookup(sample, f)[0])
            items = [item for item in items if matches(item)]
        for clause in reversed((request.arg("orderBy") or "id asc").split(",")):  # stable sorts, last key first
            field, _, direction = clause.strip().partition(" ")
            if not field:
                raise Invalid("orderBy takes field [asc|desc], separated by commas.", field="orderBy")
            descending = direction.strip().lower() == "desc"
            items = sorted(items, key=_by(field), reverse=descending)
        size_text, page_text = request.arg("pageSize") or str(DEFAULT_PAGE_SIZE), request.arg("page") or "1"
        if not size_text.isdigit() or not 1 <= int(size_text) <= MAX_PAGE_SIZE:
            raise Invalid(f"pageSize must be between 1 and {MAX_PAGE_SIZE}.", field="pageSize")
        if not page_text.isdigit() or int(page_text) < 1:
            raise Invalid("page starts at 1.", field="page")
        size, page = int(size_text), int(page_text)
        last = max(1, -(-len(items) // size))
        links = []
        query = {key: values[-1] for key, values in request.query.items()}
        for rel, number in (("next", page + 1), ("last", last)):
            if rel == "next" and page >= last:
                continue
            url = f"{self.base_url}{request.path}?{urlencode({**query, 'page': number, 'pageSize': size})}"
            links.append(f'<{url}>; rel="{rel}"')
        headers = {"Link": ", ".join(links)} if links else {}
        return Response(200, items[(page - 1) * size : page * size], headers)

    # --- shapes ------------------------------------------------------------------------------------
    def _ref(self, kind: str, item_id: int) -> dict[str, Any] | None:
        if kind == "company" and item_id in self.companies:
            c = self.companies[item_id]
            return {"id": c["id"], "identifier": c["identifier"], "name": c["name"]}
        if kind == "member" and item_id in self.members:
            m = self.members[item_id]
            return {"id": m["id"], "identifier": m["identifier"], "name": f"{m['firstName']} {m['lastName']}"}
        if kind == "contact" and item_id in self.contacts:
            c = self.contacts[item_id]
            return {"id": c["id"], "name": f"{c['firstName']} {c['lastName']}"}
        return None

    def _ticket_out(self, ticket: dict[str, Any]) -> dict[str, Any]:
        status = next(
            (s for s in self.statuses if s["id"] == ticket["status_id"]), {"id": ticket["status_id"], "name": ""}
        )
        priority = next((p for p in self.priorities if p["id"] == ticket["priority_id"]), None)
        contact = self.contacts.get(ticket.get("contact_id") or 0)
        out: dict[str, Any] = {
            "id": ticket["id"],
            "summary": ticket["summary"],
            "recordType": "ServiceTicket",
            "board": BOARDS[0],
            "status": {"id": status["id"], "name": status["name"]},
            "company": self._ref("company", ticket["company_id"]),
            "contact": self._ref("contact", ticket.get("contact_id") or 0),
            "contactEmailAddress": contact["email"] if contact else None,
            "priority": {"id": ticket["priority_id"], "name": priority["name"] if priority else ""},
            "closedFlag": bool(status.get("closedStatus")),
            "_info": {"dateEntered": ticket["dateEntered"], "lastUpdated": ticket["lastUpdated"], "updatedBy": "x"},
        }
        owner = self._ref("member", ticket.get("owner_id") or 0)
        if owner:
            out["owner"] = owner
        return out

    def _contact_out(self, contact: dict[str, Any]) -> dict[str, Any]:
        item = {
            "id": contact["id"] * 10 + 1,
            "type": {"id": 1, "name": "Email"},
            "value": contact["email"],
            "defaultFlag": True,
            "communicationType": "Email",
        }
        return {
            "id": contact["id"],
            "firstName": contact["firstName"],
            "lastName": contact["lastName"],
            "company": self._ref("company", contact["company_id"]),
            "communicationItems": [item],
        }

    def _note_out(self, note: dict[str, Any]) -> dict[str, Any]:
        out = {key: value for key, value in note.items() if key not in ("member_id", "contact_id")}
        for flag in (*NOTE_FLAGS, "customerUpdatedFlag", "processNotifications"):
            out.setdefault(flag, False)
        out["internalFlag"] = bool(note.get("internalAnalysisFlag"))
        out["externalFlag"] = bool(note.get("detailDescriptionFlag"))
        member, contact = (
            self._ref("member", note.get("member_id") or 0),
            self._ref("contact", note.get("contact_id") or 0),
        )
        if member:
            out["member"], out["createdBy"] = member, member["identifier"]
        if contact:
            out["contact"], out["createdBy"] = contact, contact["name"]
        out["_info"] = {"lastUpdated": note["dateCreated"]}
        return out

    # --- writes ------------------------------------------------------------------------------------
    def _new_note(self, ticket: dict[str, Any], *, text: str, **fields: Any) -> dict[str, Any]:
        note_id = max(self.notes, default=80000) + 1
        moment = now()
        note = {"id": note_id, "ticketId": ticket["id"], "text": text, "dateCreated": moment, **fields}
        self.notes[note_id] = note
        ticket["lastUpdated"] = moment
        return note

    def _post_note(self, ticket: dict[str, Any], body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise Invalid("The body must be a ticketNote object.", resource="ticketNote")
        text = body.get("text")
        if not isinstance(text, str) or not text.strip():
            raise Invalid("text is required.", field="text", code="Required", resource="ticketNote")
        flags = {flag: body.get(flag) is True for flag in (*NOTE_FLAGS, "customerUpdatedFlag", "processNotifications")}
        if not any(flags[flag] for flag in NOTE_FLAGS):
            raise Invalid(
                "At least one of detailDescriptionFlag, internalAnalysisFlag or resolutionFlag must be true.",
                field="detailDescriptionFlag",
                resource="ticketNote",
            )
        return self._new_note(ticket, text=text, member_id=self.api_member["id"], **flags)

    def _patch(self, ticket: dict[str, Any], body: Any) -> dict[str, Any]:
        if not isinstance(body, list) or not body:
            raise Invalid('PATCH takes a JSON Patch array: [{"op": "replace", "path": ..., "value": ...}].')
        changes: dict[str, Any] = {}
        for operation in body:
            if not isinstance(operation, dict) or operation.get("op") not in ("replace", "add", "remove"):
                raise Invalid(f"Unsupported patch operation {operation!r}.", field="op")
            field = str(operation.get("path", "")).strip("/")
            if field not in PATCHABLE:
                raise Invalid(f"{field!r} cannot be patched here.", field=field)
            if operation["op"] == "remove":
                if field != "owner":
                    raise Invalid(f"{field} is required and cannot be removed.", field=field)
                changes[field] = 0
                continue
            changes[field] = self._patched_value(field, operation.get("value"))
        ticket.update({self._store_key(field): value for field, value in changes.items()})
        ticket["lastUpdated"] = now()
        self.patches.append((ticket["id"], body))
        return self._ticket_out(ticket)

    def _patched_value(self, field: str, value: Any) -> Any:
        if field == "summary":
            if not isinstance(value, str) or not value.strip():
                raise Invalid("summary must be text.", field="summary")
            return value
        ref = value if isinstance(value, dict) else {}
        pool: dict[str, list[dict[str, Any]]] = {
            "status": self.statuses,
            "priority": self.priorities,
            "owner": list(self.members.values()),
        }
        for item in pool[field]:
            if (
                ("id" in ref and item["id"] == ref["id"])
                or ("name" in ref and item.get("name") == ref["name"])
                or ("identifier" in ref and item.get("identifier") == ref["identifier"])
            ):
                return item["id"]
        raise Invalid(f"{field} {value!r} does not exist.", field=f"{field}/id")

    def _store_key(self, field: str) -> str:
        return {"status": "status_id", "priority": "priority_id", "owner": "owner_id"}.get(field, field)

    # --- errors ------------------------------------------------------------------------------------
    def error_body(self, status: int, message: str) -> Any:
        code = {404: "NotFound", 429: "TooManyRequests", 500: "UnexpectedError", 503: "ServiceUnavailable"}
        return {"code": code.get(status, "Error"), "message": message, "errors": None}

    def _invalid(self, exc: Invalid) -> dict[str, Any]:
        detail = {"code": exc.code, "message": str(exc), "resource": exc.resource, "field": exc.field}
        return {"code": "InvalidObject", "message": f"{exc.resource or 'The request'} is invalid", "errors": [detail]}


if __name__ == "__main__":
    serve_from_command_line(
        ConnectWiseSandbox(), description="A ConnectWise PSA stand-in for demos.", default_port=8191
    )
