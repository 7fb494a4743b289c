"""Autotask PSA, reading: the zone, the API user's headers, and one Autotask company's tickets by last activity.

Auth: an API-only user's ``UserName`` and ``Secret`` and the integration's ``ApiIntegrationCode`` (its tracking
identifier), sent as headers on every call (no token to mint). Autotask serves each database from one zone: the
zone's URL is asked first (``GET /atservicesrest/v1.0/zoneInformation?user=...`` on the webservices host) and every
call goes there. Each Gaby client's source is filtered to one Autotask company (``at_company_id``): a ticket of
another company is never ingested here.

Pull: ``GET /Tickets/query?search={"filter": [companyID eq N, lastActivityDate gt T], "MaxRecords": ...}``; Autotask
answers in id order with ``pageDetails.nextPageUrl``, so a pull walks every page of one query (the cursor keeps the
page URL and the latest activity seen) and only then moves its lower bound to that latest activity: a ticket
active again mid-pull has a later date and is read by the next pull. A ticket's thread is its ``TicketNotes``; the
requester is its contact, whose email is read from ``/Contacts/{id}``. Statuses, priorities and note visibility
are picklists read by label (apps/tickets/sources/autotask/shapes.py).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, ClassVar
from urllib.parse import urlencode

import httpx
from django.utils import timezone

from apps.tickets.normalized import NormalizedContact, NormalizedTicket
from apps.tickets.sources.autotask import shapes
from apps.tickets.sources.base import Page, SourceError, Step
from apps.tickets.sources.http import HttpStatusError, SourceHttp
from apps.tickets.sources.vendor import HttpAdapter, IgnoredDelivery, iso_z, parse_time, rejected

WEBSERVICES = "https://webservices.autotask.net"
PAGE_SIZE = 100
MAX_RECORDS = 500  # Autotask's largest page
# Which zone serves each API user, per process: Autotask asks integrations to look it up once rather than before
# every call (each poll and delivery builds a fresh adapter). A database moved to another zone is seen on restart.
_ZONES: dict[tuple[str, str], str] = {}


class AutotaskHttp(SourceHttp):
    """The seam, with Autotask's refusal of the API user (401) told as what to fix. Autotask answers a business
    rule it enforces (a missing field, a wrong zone, a bad query) with 500 and ``{"errors": [...]}``: that answer
    is a refusal to show, not an outage to retry."""

    def refused(self, response: httpx.Response) -> bool:
        if response.status_code != 500:
            return False
        try:
            errors = response.json().get("errors")
        except (httpx.ResponseNotRead, ValueError, AttributeError):
            return False
        return isinstance(errors, list) and bool(errors)

    refusals: ClassVar[Mapping[int, str]] = {
        401: "Autotask refused the API user ({error}); check the username, the secret and the API integration code "
        "(Admin → Resources (Users) → the API user → Security: API Tracking Identifier).",
    }


class AutotaskReader(HttpAdapter):
    """The connection and the pull; apps/tickets/sources/autotask/adapter.py adds the writes."""

    label: ClassVar[str] = "Autotask PSA"

    def __init__(self, *, source_id: str, config: Mapping[str, Any]) -> None:
        super().__init__(source_id=source_id, config=config)
        self._zone: str | None = None
        self._picklists: dict[tuple[str, str], shapes.Picklist] = {}
        self._contacts: dict[int, dict[str, Any]] = {}

    # --- the connection --------------------------------------------------------------------------
    def _headers(self) -> dict[str, str]:
        return {
            "ApiIntegrationCode": self.setting("integration_code"),
            "UserName": self.setting("username"),
            "Secret": self.setting("secret"),
            "Accept": "application/json",
        }

    def zone_url(self) -> str:
        """The API root of the user's zone (``zoneInformation`` on the webservices host), asked once per process."""
        host = str(self.config.get("webservices_url") or WEBSERVICES).rstrip("/")
        if self._zone is None and (host, self.username) in _ZONES:
            self._zone = _ZONES[(host, self.username)]
        if self._zone is None:
            discovery = AutotaskHttp(host, headers=self._headers())
            try:
                found = discovery.json("GET", "/atservicesrest/v1.0/zoneInformation", params={"user": self.username})
            except HttpStatusError as exc:
                raise SourceError(
                    f"Autotask could not say which zone serves {self.username!r} ({exc}); check the API user's "
                    "username (its full login, e.g. gaby@yourmsp.example)."
                ) from exc
            finally:
                discovery.close()
            if not isinstance(found, dict) or not str(found.get("url") or "").startswith(("http://", "https://")):
                raise SourceError(f"Autotask's zone information has no URL: {str(found)[:200]}")
            self._zone = _ZONES[(host, self.username)] = str(found["url"]).rstrip("/") + "/v1.0"
        return self._zone

    def ticket_url(self, ticket_external_id: str) -> str | None:
        """Autotask's documented deep link, ``<zone web URL>Autotask/AutotaskExtend/ExecuteCommand.aspx?Code=
        OpenTicketDetail&TicketID=<id>``; the web URL of the API user's zone is ``zoneInformation``'s ``webUrl``."""
        host = str(self.config.get("webservices_url") or WEBSERVICES).rstrip("/")
        discovery = AutotaskHttp(host, headers=self._headers())
        try:
            found = discovery.json("GET", "/atservicesrest/v1.0/zoneInformation", params={"user": self.username})
        finally:
            discovery.close()
        web = str(found.get("webUrl") or "") if isinstance(found, dict) else ""
        if not web.startswith(("http://", "https://")):
            return None
        query = urlencode({"Code": "OpenTicketDetail", "TicketID": ticket_external_id})
        return f"{web.rstrip('/')}/Autotask/AutotaskExtend/ExecuteCommand.aspx?{query}"

    @property
    def username(self) -> str:
        return self.setting("username")

    def build_http(self) -> SourceHttp:
        return AutotaskHttp(self.zone_url(), headers=self._headers())

    def build_writer(self) -> SourceHttp:
        return AutotaskHttp(self.zone_url(), headers=self._headers(), max_attempts=1)

    @property
    def at_company_id(self) -> int:
        return self.id_setting("at_company_id", "an Autotask company id")

    # --- reading -------------------------------------------------------------------------------
    def _item(self, entity: str, item_id: int) -> dict[str, Any]:
        found = self.http.json("GET", f"/{entity}/{item_id}")
        item = found.get("item") if isinstance(found, dict) else None
        if not isinstance(item, dict):
            raise SourceError(f"Autotask has no {entity} {item_id}.")
        return item

    def _page(self, answer: Any, what: str) -> tuple[list[dict[str, Any]], str | None]:
        if not isinstance(answer, dict) or not isinstance(answer.get("items"), list):
            raise SourceError(f"Autotask answered the {what} query without items: {str(answer)[:200]}")
        details = answer.get("pageDetails") or {}
        items = [item for item in answer["items"] if isinstance(item, dict)]
        return items, (details.get("nextPageUrl") or None) if isinstance(details, dict) else None

    def query(self, entity: str, conditions: list[dict[str, Any]], *, size: int = MAX_RECORDS) -> list[dict[str, Any]]:
        """Every record matching the filter, following ``nextPageUrl``."""
        answer = self.http.json("POST", f"/{entity}/query", json={"filter": conditions, "MaxRecords": size})
        items, next_url = self._page(answer, entity)
        while next_url:
            more, next_url = self._page(self.http.json("GET", next_url), entity)
            items.extend(more)
        return items

    def _resource(self, field: str, value: Any) -> dict[str, Any]:
        found = self.query("Resources", [{"op": "eq", "field": field, "value": value}])
        if not found:
            raise SourceError(f"Autotask has no resource with {field} {value}.")
        return found[0]

    def picklist(self, entity: str, field: str) -> shapes.Picklist:
        """A picklist's values and labels as this database defines them (``entityInformation/fields``)."""
        if (entity, field) not in self._picklists:
            answer = self.http.json("GET", f"/{entity}/entityInformation/fields")
            for item in (answer or {}).get("fields") or []:
                if isinstance(item, dict) and item.get("isPickList"):
                    values = {int(v["value"]): str(v.get("label") or "") for v in item.get("picklistValues") or []}
                    self._picklists[(entity, str(item.get("name")))] = values
        try:
            return self._picklists[(entity, field)]
        except KeyError:
            raise SourceError(f"Autotask lists no picklist for {entity}.{field}.") from None

    def companies(self) -> dict[int, str]:
        """Every active company the API user sees, id → name (``Companies/query``)."""
        listed = self.query("Companies", [{"op": "eq", "field": "isActive", "value": True}])
        return {int(c["id"]): str(c.get("companyName") or "") for c in listed if isinstance(c.get("id"), int)}

    # --- inbound -------------------------------------------------------------------------------
    def pull_since(self, cursor: Mapping[str, Any]) -> Page:
        since = str(cursor.get("since") or "")
        if not since:
            since = iso_z(timezone.now() - timedelta(days=int(self.config.get("backfill_days") or 30)))
        high, page_url = str(cursor.get("high") or since), str(cursor.get("page") or "")
        if not page_url:
            search = {
                "filter": [
                    {"op": "eq", "field": "companyID", "value": self.at_company_id},
                    {"op": "gt", "field": "lastActivityDate", "value": since},
                ],
                "MaxRecords": min(MAX_RECORDS, int(self.config.get("page_size") or PAGE_SIZE)),
            }
            answer = self.http.json("GET", "/Tickets/query", params={"search": json.dumps(search)})
        else:
            answer = self.http.json("GET", page_url)
        items, next_url = self._page(answer, "ticket")
        steps: list[Step] = []
        for item in items:
            try:
                moment = parse_time(item.get("lastActivityDate"))
            except ValueError:
                moment = None  # the ticket is read (or quarantined) below; it does not move the bound
            if moment is not None and moment > (parse_time(high) or moment):
                high = str(item["lastActivityDate"])
            place = {"since": since, "high": high, "page": page_url} if page_url else {"since": since, "high": high}
            try:
                steps.append(Step(self._ticket(item), place))
            except IgnoredDelivery:
                steps.append(Step("ticket of another Autotask company", place))
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                error = f"Autotask ticket could not be read: {exc.__class__.__name__}: {exc}"
                steps.append(Step(rejected(item, error), place))
        done = {"since": high} if not next_url else {"since": since, "high": high, "page": next_url}
        return Page([], done, has_more=bool(next_url), steps=steps)

    def _ticket(self, item: Any) -> NormalizedTicket:
        ticket_id = item["id"]
        if not isinstance(ticket_id, int) or isinstance(ticket_id, bool):
            raise ValueError(f"ticket id {ticket_id!r} is not a number")
        if item.get("companyID") != self.at_company_id:
            raise IgnoredDelivery(f"ticket {ticket_id} belongs to Autotask company {item.get('companyID')!r}.")
        statuses, priorities = self.picklist("Tickets", "status"), self.picklist("Tickets", "priority")
        internal = shapes.internal_publish(self.picklist("TicketNotes", "publish"))
        notes = self.query("TicketNotes", [{"op": "eq", "field": "ticketID", "value": ticket_id}])
        notes.sort(key=lambda n: (str(n.get("createDateTime") or ""), int(n.get("id") or 0)))
        priority = priorities.get(item.get("priority")) if isinstance(item.get("priority"), int) else None
        return NormalizedTicket(
            external_id=str(ticket_id),
            title=str(item.get("title") or "")[:500],
            body=str(item.get("description") or ""),
            contact=self._contact(item.get("contactID")),
            status=shapes.status_in(statuses.get(item.get("status"), ""), self.config),
            priority=shapes.priority_in(priority, self.config) if priority else None,
            messages=tuple(shapes.message(note, internal=internal) for note in notes),
        )

    def _contact(self, contact_id: Any) -> NormalizedContact | None:
        """The ticket's contact, read from Autotask's contacts (their email is the requester identity)."""
        if not isinstance(contact_id, int) or contact_id <= 0:
            return None
        if contact_id not in self._contacts:
            self._contacts[contact_id] = self._item("Contacts", contact_id)
        contact = self._contacts[contact_id]
        name = " ".join(str(contact.get(k) or "") for k in ("firstName", "lastName")).strip()
        return NormalizedContact(email=str(contact.get("emailAddress") or ""), name=name, external_id=str(contact_id))
