"""The Autotask stand-in's writes, validated as Autotask validates them (sandbox/autotask.py serves them).

``POST /Tickets/{id}/Notes`` (``title``, ``description``, ``noteType``, ``publish``), ``PATCH /Tickets`` (the
record's ``id`` and the fields to change: ``status``, ``priority``, ``assignedResourceID`` with its
``assignedResourceRoleID``), ``POST /TimeEntries`` charged to a ticket (``ticketID``, ``resourceID``,
``roleID``, ``billingCodeID``, ``dateWorked``, ``startDateTime``/``endDateTime`` or ``hoursWorked``,
``summaryNotes``, ``isNonBillable``). A refused write raises ``Invalid``: Autotask answers 500 with
``{"errors": ["..."]}`` for a business rule it refuses, so does the stand-in.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sandbox.autotask_seed import BILLING_CODES, PICKLISTS, ROLES

PATCHABLE = {"status", "priority", "assignedResourceID", "assignedResourceRoleID", "title"}


class Invalid(Exception):
    """A write Autotask refuses; the message is the one item of its ``errors``."""


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{datetime.now(UTC).microsecond // 1000:03d}Z"


def _picklist(entity: str, field: str, value: Any) -> int:
    if not isinstance(value, int) or str(value) not in PICKLISTS[entity][field]:
        allowed = ", ".join(PICKLISTS[entity][field])
        raise Invalid(f"Value {value!r} is not valid for {field}: it takes one of {allowed}.")
    return value


class Writes:
    tickets: dict[int, dict[str, Any]]
    notes: dict[int, dict[str, Any]]
    resources: dict[int, dict[str, Any]]
    time_entries: dict[int, dict[str, Any]]
    patches: list[tuple[int, dict[str, Any]]]
    api_resource: dict[str, Any]

    def ticket_changed(self, ticket: dict[str, Any], changed: set[str], *, action: str, by: int | None) -> None:
        """Where a change is announced (sandbox/autotask_webhooks.py queues its callouts)."""

    def new_note(self, ticket: dict[str, Any], **fields: Any) -> dict[str, Any]:
        note_id = max(self.notes, default=91000) + 1
        moment = now()
        note = {
            "id": note_id,
            "ticketID": ticket["id"],
            "title": "",
            "description": "",
            "noteType": 1,
            "publish": 1,
            "creatorResourceID": None,
            "createdByContactID": None,
            "createDateTime": moment,
            "lastActivityDate": moment,
            **fields,
        }
        self.notes[note_id] = note
        ticket["lastActivityDate"] = moment
        self.ticket_changed(ticket, {"lastActivityDate"}, action="Update", by=note["creatorResourceID"])
        return note

    def post_note(self, ticket: dict[str, Any], body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise Invalid("The body must be a TicketNote object.")
        if body.get("ticketID") not in (None, ticket["id"]):
            raise Invalid("ticketID does not match the parent ticket of the URL.")
        for required in ("title", "description"):
            value = body.get(required)
            if not isinstance(value, str) or not value.strip():
                raise Invalid(f"{required} is required.")
        if len(body["title"]) > 250 or len(body["description"]) > 32000:
            raise Invalid("title is at most 250 characters and description at most 32000.")
        fields = {
            "title": body["title"],
            "description": body["description"],
            "noteType": _picklist("TicketNotes", "noteType", body.get("noteType")),
            "publish": _picklist("TicketNotes", "publish", body.get("publish")),
        }
        return self.new_note(ticket, creatorResourceID=self.api_resource["id"], **fields)

    def patch_ticket(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict) or not isinstance(body.get("id"), int):
            raise Invalid("PATCH /Tickets takes the ticket's id and the fields to change.")
        ticket = self.tickets.get(body["id"])
        if ticket is None:
            raise Invalid(f"Ticket {body['id']} does not exist.")
        changes = {key: value for key, value in body.items() if key != "id"}
        unknown = sorted(set(changes) - PATCHABLE)
        if unknown or not changes:
            raise Invalid(f"Fields {unknown or 'none'} cannot be updated here.")
        if "status" in changes:
            _picklist("Tickets", "status", changes["status"])
        if "priority" in changes:
            _picklist("Tickets", "priority", changes["priority"])
        if "assignedResourceID" in changes:
            resource, role = changes["assignedResourceID"], changes.get("assignedResourceRoleID")
            if resource is not None and resource not in self.resources:
                raise Invalid(f"Resource {resource} does not exist.")
            if (resource is None) != (role is None):
                raise Invalid("assignedResourceID and assignedResourceRoleID are set, or cleared, together.")
            if role is not None and role not in {r["id"] for r in ROLES}:
                raise Invalid(f"Role {role} does not exist.")
        ticket.update(changes)
        ticket["lastActivityDate"] = now()
        self.patches.append((ticket["id"], changes))
        self.ticket_changed(ticket, {*changes, "lastActivityDate"}, action="Update", by=self.api_resource["id"])
        return ticket

    def post_time_entry(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise Invalid("The body must be a TimeEntry object.")
        charged = body.get("ticketID")
        ticket = self.tickets.get(charged) if isinstance(charged, int) else None
        if ticket is None:
            raise Invalid(f"ticketID {body.get('ticketID')!r}: a time entry is charged to an existing ticket.")
        if body.get("resourceID") not in self.resources:
            raise Invalid(f"resourceID {body.get('resourceID')!r} is not a resource.")
        if body.get("roleID") not in {r["id"] for r in ROLES}:
            raise Invalid(f"roleID {body.get('roleID')!r} is required and must be a role of the resource.")
        if body.get("billingCodeID") not in {c["id"] for c in BILLING_CODES if c["isActive"]}:
            raise Invalid(f"billingCodeID {body.get('billingCodeID')!r} is not an active work type.")
        summary = body.get("summaryNotes")
        if not isinstance(summary, str) or not summary.strip():
            raise Invalid("summaryNotes is required for a ticket time entry.")
        hours = body.get("hoursWorked")
        start, end = body.get("startDateTime"), body.get("endDateTime")
        if hours is None and isinstance(start, str) and isinstance(end, str):
            began = datetime.fromisoformat(start.replace("Z", "+00:00"))
            hours = round((datetime.fromisoformat(end.replace("Z", "+00:00")) - began).total_seconds() / 3600, 4)
        if not isinstance(hours, int | float) or isinstance(hours, bool) or not 0 < hours <= 24:
            raise Invalid("hoursWorked must be above 0 and at most 24.")
        if not isinstance(body.get("dateWorked"), str):
            raise Invalid("dateWorked is required.")
        entry_id = max(self.time_entries, default=40000) + 1
        entry = {
            "id": entry_id,
            "ticketID": ticket["id"],
            "resourceID": body["resourceID"],
            "roleID": body["roleID"],
            "billingCodeID": body["billingCodeID"],
            "contractID": body.get("contractID"),
            "dateWorked": body["dateWorked"],
            "startDateTime": start,
            "endDateTime": end,
            "hoursWorked": hours,
            "hoursToBill": 0 if body.get("isNonBillable") else hours,
            "isNonBillable": body.get("isNonBillable") is True,
            "summaryNotes": summary,
            "internalNotes": str(body.get("internalNotes") or ""),
            "createDateTime": now(),
        }
        self.time_entries[entry_id] = entry
        ticket["lastActivityDate"] = now()
        self.ticket_changed(ticket, {"lastActivityDate"}, action="Update", by=int(body["resourceID"]))
        return entry
