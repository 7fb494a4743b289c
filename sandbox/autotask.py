"""An Autotask PSA stand-in: the REST API v1.0 parts Gaby's ticket adapter and time write-back use.

Follows Autotask's documented API. Zone discovery first: ``GET /atservicesrest/v1.0/zoneInformation?user=<API
user>`` on the webservices host answers the zone's ``url``; every other call goes to ``<zone url>v1.0/...`` with
the headers ``ApiIntegrationCode`` (the integration's tracking identifier), ``UserName`` and ``Secret`` (an API
user's); a wrong or missing one answers 401. The stand-in serves the zone under ``/<zone>/atservicesrest/`` on the
same port, and the API called outside the user's zone answers as Autotask does when asked in the wrong zone.

Entities: ``Tickets``, ``Companies``, ``Contacts``, ``Resources``, ``TicketNotes``, ``TimeEntries`` — each
``GET /{Entity}/{id}`` (``{"item": ...}``) and ``POST /{Entity}/query`` or ``GET /{Entity}/query?search=`` in
Autotask's filter grammar, 500 a page at most with ``pageDetails.nextPageUrl`` (sandbox/autotask_query.py);
``GET /{Entity}/entityInformation/fields`` lists the picklists. Writes (sandbox/autotask_records.py): ``POST
/Tickets/{id}/Notes``, ``PATCH /Tickets``, ``POST /TimeEntries``, each answering ``{"itemId": n}``. Errors carry
``{"errors": ["..."]}``.

Faults: ``fail_next`` (sandbox.base) answers a 429 or a 5xx first; ``rate_limit=(n, seconds)`` answers 429 with
Retry-After past n requests in the window, as Autotask's thread and request thresholds do; ``lose_next_answer``
performs a write and answers 504 (the gateway timed out after Autotask committed it).

Webhooks (sandbox/autotask_webhooks.py): ``POST /TicketWebhooks``, ``GET``/``DELETE /TicketWebhooks/{id}``, ``POST
/TicketWebhooks/{id}/Fields`` and ``/ExcludedResources``; a ticket changed through the API, by ``add_note`` or
``add_ticket`` queues the signed callouts it triggers, posted by ``deliver_webhooks`` (or ``start_delivering``).

Inspect: ``tickets``, ``notes``, ``time_entries``, ``patches``, ``webhooks``, ``delivered``; ``add_note(ticket_id,
text)`` is a contact's note, ``add_ticket(company_id, title, description)`` a ticket a contact opens.
Run alone for the demo: ``python -m sandbox.autotask --port 8192`` (serves DEMO_SEED).
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

from sandbox import autotask_query as query
from sandbox.autotask_records import Invalid, Writes, now
from sandbox.autotask_seed import BILLING_CODES, DEMO_SEED, PICKLISTS
from sandbox.autotask_webhooks import TicketWebhooks
from sandbox.base import Request, Response, Sandbox, serve_from_command_line
from sandbox.faults import LostAnswers, Throttle

ROOT = "/atservicesrest/v1.0"  # on the webservices host: zone discovery
TICKET_FIELDS = ("id", "ticketNumber", "title", "description", "companyID", "contactID", "status", "priority",
                 "assignedResourceID", "assignedResourceRoleID", "createDate", "lastActivityDate", "ticketType",
                 "queueID")  # fmt: skip
FIELDS = {  # what each entity's records hold: a query naming another field is refused
    "Tickets": set(TICKET_FIELDS),
    "Companies": {"id", "companyName", "isActive", "companyType"},
    "Contacts": {"id", "companyID", "firstName", "lastName", "emailAddress", "isActive"},
    "Resources": {"id", "firstName", "lastName", "email", "userName", "isActive", "defaultServiceDeskRoleID"},
    "TicketNotes": {"id", "ticketID", "title", "description", "noteType", "publish", "creatorResourceID",
                    "createdByContactID", "createDateTime", "lastActivityDate"},
    "TimeEntries": {"id", "ticketID", "resourceID", "roleID", "billingCodeID", "contractID", "dateWorked",
                    "startDateTime", "endDateTime", "hoursWorked", "hoursToBill", "isNonBillable", "summaryNotes",
                    "internalNotes", "createDateTime"},
    "TicketWebhooks": {"id", "name", "isActive", "isReady", "webhookGUID", "webhookUrl", "ownerResourceID"},
    "TicketWebhookFields": {"id", "webhookID", "fieldID", "isSubscribedField", "isDisplayAlwaysField"},
}  # fmt: skip


class AutotaskSandbox(TicketWebhooks, Writes, Sandbox):
    name = "autotask"

    def __init__(self, seed: dict[str, Any] | None = None, *, rate_limit: tuple[int, float] | None = None) -> None:
        super().__init__()
        data = copy.deepcopy(seed if seed is not None else DEMO_SEED)
        self.zone = str(data.get("zone") or "zone2")
        self.integration_codes = set(data["integration_codes"])
        self.api_users: dict[str, str] = dict(data["api_users"])
        self.companies = {c["id"]: c for c in data["companies"]}
        self.contacts = {c["id"]: {"isActive": True, **c} for c in data["contacts"]}
        self.resources = {r["id"]: r for r in data["resources"]}
        self.tickets: dict[int, dict[str, Any]] = {}
        self.notes: dict[int, dict[str, Any]] = {}
        for ticket in data["tickets"]:
            thread = ticket.pop("notes", [])
            self.tickets[ticket["id"]] = {field: ticket.get(field) for field in TICKET_FIELDS} | {
                "ticketType": 1,
                "queueID": 8,
            }
            for note in thread:
                self.notes[note["id"]] = {"ticketID": ticket["id"], "createdByContactID": None,
                                          "creatorResourceID": None, "lastActivityDate": note["createDateTime"],
                                          **note}  # fmt: skip
        self.time_entries: dict[int, dict[str, Any]] = {}
        self.patches: list[tuple[int, dict[str, Any]]] = []
        self.throttle = Throttle(rate_limit)
        self.lost = LostAnswers()
        self.init_webhooks()

    @property
    def zone_root(self) -> str:
        return f"/{self.zone}{ROOT}"

    @property
    def api_resource(self) -> dict[str, Any]:  # type: ignore[override]
        """The resource the API user is: notes and time written through the API are theirs."""
        users = set(self.api_users)
        return next(r for r in self.resources.values() if r.get("userName") in users)

    # --- for tests and the demo ----------------------------------------------------------------
    def add_note(self, ticket_id: int, text: str, *, contact_id: int | None = None) -> dict[str, Any]:
        """A note the ticket's contact adds (through the client portal or email): lastActivityDate moves."""
        ticket = self.tickets[ticket_id]
        with self.lock:
            return self.new_note(
                ticket,
                title="Client note",
                description=text,
                noteType=1,
                publish=1,
                createdByContactID=contact_id or ticket["contactID"],
            )

    def add_ticket(self, company_id: int, title: str, description: str, *, contact_id: int | None = None) -> dict:
        """A ticket a contact opens (the client portal, email): its Create callouts are queued."""
        with self.lock:
            moment = now()
            ticket_id = max(self.tickets, default=7000) + 1
            contact = contact_id or next(c["id"] for c in self.contacts.values() if c["companyID"] == company_id)
            ticket = dict.fromkeys(TICKET_FIELDS) | {
                "id": ticket_id, "ticketNumber": f"T20261207.{ticket_id:04d}", "title": title,
                "description": description, "companyID": company_id, "contactID": contact, "status": 1,
                "priority": 2, "createDate": moment, "lastActivityDate": moment, "ticketType": 1, "queueID": 8,
            }  # fmt: skip
            self.tickets[ticket_id] = ticket
            self.ticket_changed(ticket, set(ticket), action="Create", by=None)
            return ticket

    def stop(self) -> None:
        self._stop_delivering.set()
        super().stop()

    def lose_next_answer(self, method: str, path: str) -> None:
        """The next matching write is performed, then answered 504; ``path`` is the part after ``v1.0``."""
        with self.lock:
            self.lost.add(method, self.zone_root + path)

    # --- dispatch ------------------------------------------------------------------------------
    def dispatch(self, request: Request) -> Response:
        response = super().dispatch(request)
        with self.lock:
            return self.lost.answer(request, response)

    def handle(self, request: Request) -> Response:
        if request.method == "GET" and request.path.lower() == f"{ROOT}/zoneinformation":
            return self._zone_information(request)
        if not request.path.startswith(self.zone_root + "/"):
            if request.path.lower().startswith(ROOT.lower() + "/"):
                return Response(500, self.error_body(500, "Zone mismatch: this user's database is in another zone."))
            return Response(404, self.error_body(404, f"No route {request.path}"))
        throttled = self.throttle.check(
            lambda wait: self.error_body(429, f"Request rate threshold exceeded: try again in {wait} seconds.")
        )
        if throttled is not None:
            return throttled
        refused = self._refused(request)
        if refused is not None:
            return refused
        try:
            return self._api(request.method, request.path.removeprefix(self.zone_root), request)
        except (Invalid, query.QueryError) as exc:
            return Response(500, self.error_body(500, str(exc)))
        except json.JSONDecodeError:
            return Response(400, self.error_body(400, "The request body is not JSON."))

    def _zone_information(self, request: Request) -> Response:
        user = request.arg("user") or ""
        if user not in self.api_users:
            return Response(404, self.error_body(404, f"Zone information could not be determined for {user!r}."))
        url = f"{self.base_url}/{self.zone}/atservicesrest/"
        return Response(200, {"zoneName": "Sandbox Zone", "url": url, "webUrl": f"{self.base_url}/", "ci": 20261})

    def _refused(self, request: Request) -> Response | None:
        code = request.headers.get("apiintegrationcode", "")
        user, secret = request.headers.get("username", ""), request.headers.get("secret", "")
        if code not in self.integration_codes or not user or self.api_users.get(user) != secret:
            return Response(401, self.error_body(401, "Unauthorized"))
        return None

    def _api(self, method: str, path: str, request: Request) -> Response:
        entities = {
            "Tickets": lambda: list(self.tickets.values()),
            "Companies": lambda: list(self.companies.values()),
            "Contacts": lambda: list(self.contacts.values()),
            "Resources": lambda: list(self.resources.values()),
            "TicketNotes": lambda: list(self.notes.values()),
            "TimeEntries": lambda: list(self.time_entries.values()),
            "TicketWebhooks": lambda: list(self.webhooks.values()),
            "TicketWebhookFields": lambda: list(self.webhook_fields.values()),
        }
        match = re.fullmatch(
            r"/(\w+)(?:/(query(?:/next)?|entityInformation/fields|\d+)(?:/(Notes|Fields|ExcludedResources))?)?", path
        )
        if match is None or match.group(1) not in entities:
            return Response(404, self.error_body(404, f"No route {method} {path}"))
        entity, rest, child = match.groups()
        if entity == "TicketWebhooks":
            return self._webhooks(method, rest, request)
        records = entities[entity]()
        if rest in ("query", "query/next"):
            if method == "POST" and rest == "query":
                return Response(200, self._query(entity, records, request.json(), after_id=-1))
            if method == "GET":
                search = json.loads(request.arg("search") or "null")
                paging = json.loads(request.arg("paging") or "{}")
                return Response(200, self._query(entity, records, search, after_id=int(paging.get("lastId", -1))))
        elif rest == "entityInformation/fields" and method == "GET":
            lists = PICKLISTS.get(entity, {})
            return Response(200, {"fields": [_field(name, values) for name, values in lists.items()]})
        elif rest and rest.isdigit():
            found = next((r for r in records if r["id"] == int(rest)), None)
            if found is None:
                return Response(404, self.error_body(404, f"{entity} {rest} does not exist."))
            if child and entity == "Tickets" and method == "POST":
                return Response(200, {"itemId": self.post_note(found, request.json())["id"]})
            if not child and method == "GET":
                return Response(200, {"item": found})
        elif rest is None and entity == "Tickets" and method == "PATCH":
            return Response(200, {"itemId": self.patch_ticket(request.json())["id"]})
        elif rest is None and entity == "TimeEntries" and method == "POST":
            return Response(200, {"itemId": self.post_time_entry(request.json())["id"]})
        return Response(405, self.error_body(405, f"{method} is not allowed on {path}"))

    def _webhooks(self, method: str, rest: str | None, request: Request) -> Response:
        child = request.path.rsplit("/", 1)[-1] if rest and rest.isdigit() else None
        if rest is None and method == "POST":
            return Response(200, {"itemId": self.create_webhook(request.json())["id"]})
        if rest and rest.isdigit():
            webhook_id = int(rest)
            if webhook_id not in self.webhooks:
                return Response(404, self.error_body(404, f"TicketWebhooks {webhook_id} does not exist."))
            if child == "Fields" and method == "POST":
                return Response(200, {"itemId": self.add_webhook_field(webhook_id, request.json())["id"]})
            if child == "ExcludedResources" and method == "POST":
                return Response(200, {"itemId": self.exclude_resource(webhook_id, request.json())["id"]})
            if child == rest and method == "GET":
                shown = {k: v for k, v in self.webhooks[webhook_id].items() if k != "secretKey"}
                return Response(200, {"item": shown})
            if child == rest and method == "DELETE":
                self.delete_webhook(webhook_id)
                return Response(200, {"itemId": webhook_id})
        return Response(405, self.error_body(405, f"{method} is not allowed on TicketWebhooks/{rest or ''}"))

    def _query(self, entity: str, records: list[dict[str, Any]], search: Any, *, after_id: int) -> dict[str, Any]:
        fields = FIELDS[entity]
        include = search.get("IncludeFields") if isinstance(search, dict) else None
        next_url = f"{self.base_url}{self.zone_root}/{entity}/query/next"
        return query.page(
            records, search, fields=fields, after_id=after_id, next_url=next_url, include=list(include or [])
        )

    def error_body(self, status: int, message: str) -> Any:
        return {"errors": [message]}


def _field(name: str, values: dict[str, str]) -> dict[str, Any]:
    picklist = [
        {"value": value, "label": label, "isDefaultValue": n == 0, "sortOrder": n, "isActive": True, "isSystem": True}
        for n, (value, label) in enumerate(values.items())
    ]
    return {"name": name, "dataType": "integer", "isPickList": True, "isRequired": False, "picklistValues": picklist}


__all__ = ["BILLING_CODES", "DEMO_SEED", "AutotaskSandbox", "now"]

if __name__ == "__main__":
    demo = AutotaskSandbox()
    demo.start_delivering()  # a registered webhook is called within a second of a change, as Autotask calls it
    serve_from_command_line(demo, description="An Autotask PSA stand-in for demos.", default_port=8192)
