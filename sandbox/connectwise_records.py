"""The ConnectWise stand-in's time entries and callback registrations (sandbox/connectwise.py serves them).

``POST /time/entries`` charged to a service ticket (``chargeToType`` ServiceTicket, ``chargeToId``; ``timeStart``
and ``timeEnd`` or ``actualHours``; ``billableOption``; ``member`` and ``workType`` by id, identifier or name) and
``POST /system/callbacks`` (``url``, ``type`` Ticket, ``level``, ``objectId``), validated as Manage does, with
its 400 body naming the field; ``fire_callbacks`` posts a ticket save to the callbacks that cover it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

BILLABLE_OPTIONS = ("Billable", "DoNotBill", "NoCharge", "NoDefault")
Sender = Callable[[str, bytes, dict[str, str]], int]


def _post(url: str, body: bytes, headers: dict[str, str]) -> int:
    import httpx

    return httpx.post(url, content=body, headers=headers, timeout=10).status_code


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Invalid(Exception):
    """A request Manage refuses with 400 and its error body; ``field`` names the culprit."""

    def __init__(self, message: str, *, field: str = "", code: str = "InvalidObject", resource: str = "") -> None:
        super().__init__(message)
        self.field, self.code, self.resource = field, code, resource


class TimeAndCallbacks:
    tickets: dict[int, dict[str, Any]]
    members: dict[int, dict[str, Any]]
    work_types: list[dict[str, Any]]
    api_member: dict[str, Any]
    time_entries: dict[int, dict[str, Any]]
    callbacks: dict[int, dict[str, Any]]

    def _ref(self, kind: str, item_id: int) -> dict[str, Any] | None:
        raise NotImplementedError

    def callback_body(self, ticket_id: int, action: str = "updated") -> dict[str, Any]:
        raise NotImplementedError

    def fire_callbacks(
        self, ticket_id: int, action: str = "updated", *, send: Sender | None = None
    ) -> list[tuple[str, int]]:
        """Post the callback of a ticket save to every active Ticket callback covering it, as Manage does: level
        Owner covers every ticket, Company the tickets of company ``objectId``, Board those of board ``objectId``,
        Ticket the one ticket. ``send(url, body, headers)`` answers the status (default: an HTTP POST with
        httpx). Returns (url, status) for each callback fired."""
        ticket = self.tickets[ticket_id]
        covers = {"Owner": None, "Company": ticket["company_id"], "Board": 1, "Ticket": ticket_id}
        fired = []
        for callback in sorted(self.callbacks.values(), key=lambda c: c["id"]):
            level = callback["level"]
            if callback["inactiveFlag"] or callback["type"] != "Ticket" or level not in covers:
                continue
            if covers[level] is not None and callback["objectId"] != covers[level]:
                continue
            body = json.dumps(self.callback_body(ticket_id, action)).encode()
            headers = {"Content-Type": "application/json"}
            fired.append((callback["url"], (send or _post)(callback["url"], body, headers)))
        return fired

    def _post_time(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise Invalid("The body must be a timeEntry object.", resource="timeEntry")
        if body.get("chargeToType") != "ServiceTicket":
            raise Invalid("chargeToType must be ServiceTicket here.", field="chargeToType", resource="timeEntry")
        charged = body.get("chargeToId")
        ticket = self.tickets.get(charged) if isinstance(charged, int) else None
        if ticket is None:
            raise Invalid(f"Service ticket {body.get('chargeToId')!r} does not exist.", field="chargeToId")
        start = body.get("timeStart")
        if not isinstance(start, str):
            raise Invalid("timeStart is required.", field="timeStart", code="Required", resource="timeEntry")
        try:
            started = datetime.fromisoformat(start.replace("Z", "+00:00"))
            ended = datetime.fromisoformat(str(body["timeEnd"]).replace("Z", "+00:00")) if body.get("timeEnd") else None
        except ValueError:
            raise Invalid("timeStart and timeEnd are ISO 8601 dates.", field="timeStart") from None
        hours = body.get("actualHours")
        if hours is None and ended is not None:
            hours = round((ended - started).total_seconds() / 3600, 4)
        if not isinstance(hours, int | float) or hours <= 0:
            raise Invalid("Give timeEnd after timeStart, or actualHours above 0.", field="actualHours")
        option = body.get("billableOption", "Billable")
        if option not in BILLABLE_OPTIONS:
            raise Invalid(f"billableOption is one of {', '.join(BILLABLE_OPTIONS)}.", field="billableOption")
        member = self._reference(body.get("member"), list(self.members.values()), "member") or self.api_member
        work = self._reference(body.get("workType"), self.work_types, "workType")
        agreement = body.get("agreement")
        if agreement is not None and not (isinstance(agreement, dict) and isinstance(agreement.get("id"), int)):
            raise Invalid('agreement is a reference: {"id": <agreement id>}.', field="agreement/id")
        entry_id = max(self.time_entries, default=30000) + 1
        entry = {
            "id": entry_id,
            "company": self._ref("company", ticket["company_id"]),
            "chargeToId": ticket["id"],
            "chargeToType": "ServiceTicket",
            "member": self._ref("member", member["id"]),
            "timeStart": start,
            "timeEnd": body.get("timeEnd"),
            "actualHours": hours,
            "billableOption": option,
            "workType": {"id": work["id"], "name": work["name"]} if work else None,
            "agreement": {"id": agreement["id"]} if agreement else None,
            "notes": str(body.get("notes") or ""),
            "addToInternalAnalysisFlag": body.get("addToInternalAnalysisFlag") is True,
            "_info": {"dateEntered": now(), "lastUpdated": now()},
        }
        self.time_entries[entry_id] = entry
        return entry

    def _reference(self, value: Any, pool: list[dict[str, Any]], field: str) -> dict[str, Any] | None:
        if value is None:
            return None
        ref = value if isinstance(value, dict) else {}
        for item in pool:
            if any(key in ref and item.get(key) == ref[key] for key in ("id", "identifier", "name")):
                return item
        raise Invalid(f"{field} {value!r} does not exist.", field=f"{field}/id", resource="timeEntry")

    def _post_callback(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise Invalid("The body must be a callback object.", resource="callbackEntry")
        for required in ("url", "type", "level", "objectId"):
            if body.get(required) in (None, ""):
                raise Invalid(f"{required} is required.", field=required, code="Required", resource="callbackEntry")
        if body["type"] != "Ticket" or body["level"] not in ("Owner", "Company", "Board", "Ticket"):
            raise Invalid("type Ticket takes level Owner, Company, Board or Ticket.", field="level")
        callback_id = max(self.callbacks, default=0) + 1
        self.callbacks[callback_id] = {
            "id": callback_id,
            **{key: body.get(key) for key in ("description", "url", "objectId", "type", "level")},
            "inactiveFlag": body.get("inactiveFlag") is True,
        }
        return self.callbacks[callback_id]
