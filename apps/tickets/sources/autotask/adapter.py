"""Autotask PSA, writing back: replies and notes, status, priority, assignee, and billable time, each once.

Replies and internal notes are ``POST /Tickets/{id}/Notes`` (published to all Autotask users, which the contact
sees, or internal only); status, priority and assignee are ``PATCH /Tickets`` with picklist values found by label;
time is ``POST /TimeEntries`` charged to the ticket, its ``summaryNotes`` ending with the record's marker
(``[gaby-time:<id>]``). Autotask takes no idempotency key, so a write is sent once per attempt and an attempt
looks first for what a lost one wrote: a note with the same text and visibility by a resource since Gaby created
the message, or the time entry of the ticket whose summary carries the marker; the delivery claim
(apps/tickets/delivery.py) and the time record's claim (apps/billing/writeback.py) make sure only one worker
attempts at a time. Reading is apps/tickets/sources/autotask/reader.py; webhook callouts
apps/tickets/sources/autotask/webhooks.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any, ClassVar

from django.utils import timezone

from apps.tickets.sources.autotask import shapes
from apps.tickets.sources.autotask.webhooks import AutotaskWebhooks
from apps.tickets.sources.base import Delivered, OutboundMessage, SourceError, TimeEntry
from apps.tickets.sources.vendor import iso_z, parse_time, uuid7_time

CLOCK_SKEW = timedelta(minutes=5)  # Autotask's clock against Gaby's, when looking for a note a lost attempt wrote


def _whole(value: str, what: str) -> int:
    if not value.strip().isdigit():
        raise SourceError(f"{what} {value!r} is not an Autotask id: Autotask ids are whole numbers.")
    return int(value)


class AutotaskAdapter(AutotaskWebhooks):
    kind: ClassVar[str] = "autotask"
    sink_kinds: ClassVar[frozenset[str]] = frozenset({"public_reply", "internal_note"})
    # Autotask tickets have no free tag list (categories and issue types are configured): tags stay in Gaby.
    writable_fields: ClassVar[frozenset[str]] = frozenset({"status", "priority", "assignee"})

    def __init__(self, *, source_id: str, config: Mapping[str, Any]) -> None:
        super().__init__(source_id=source_id, config=config)
        self._resources: dict[str, dict[str, Any]] = {}

    def _publish(self, *, internal: bool) -> int:
        picklist = self.picklist("TicketNotes", "publish")
        inside = shapes.internal_publish(picklist)
        wanted = sorted(inside) if internal else sorted(set(picklist) - inside)
        if not wanted:
            raise SourceError(f"Autotask's note publish picklist has no {'internal' if internal else 'public'} value.")
        return wanted[0]

    def _note_type(self) -> int:
        picklist = self.picklist("TicketNotes", "noteType")
        label = str(self.config.get("note_type") or "")
        try:
            return shapes.value_of(picklist, label, field="note type") if label else min(picklist)
        except ValueError as exc:
            raise SourceError(f"{exc}; set the source's 'note_type' to one of them.") from None

    # --- notes ---------------------------------------------------------------------------------
    def post_reply(self, message: OutboundMessage) -> Delivered:
        ticket_id = _whole(message.ticket_external_id, "Ticket")
        internal = message.kind == "internal_note"
        publish = self._publish(internal=internal)
        landed = self._already_written(ticket_id, message, publish)
        if landed is not None:
            return Delivered(external_id=f"note-{landed}")
        title = "Internal note" if internal else "Reply"
        note = {
            "ticketID": ticket_id,
            "title": (f"{title} · {message.author_label}" if message.author_label else title)[:250],
            "description": message.body[:32000],
            "noteType": self._note_type(),
            "publish": publish,
        }
        written = self.writer.json("POST", f"/Tickets/{ticket_id}/Notes", json=note)
        if not isinstance(written, dict) or "itemId" not in written:
            raise SourceError("Autotask accepted the note but did not say its id.")
        return Delivered(external_id=f"note-{written['itemId']}")

    def _already_written(self, ticket_id: int, message: OutboundMessage, publish: int) -> int | None:
        """The id of a note an earlier attempt of this message wrote, if Autotask has it."""
        created = uuid7_time(message.message_id)
        conditions: list[dict[str, Any]] = [
            {"op": "eq", "field": "ticketID", "value": ticket_id},
            {"op": "exist", "field": "creatorResourceID"},
        ]
        if created is not None:
            conditions.append({"op": "gte", "field": "createDateTime", "value": iso_z(created - CLOCK_SKEW)})
        for note in self.query("TicketNotes", conditions):
            moment = parse_time(note.get("createDateTime"))
            if created is not None and (moment is None or moment < created - CLOCK_SKEW):
                continue
            same_text = str(note.get("description") or "").strip() == message.body[:32000].strip()
            if same_text and note.get("publish") == publish and isinstance(note.get("id"), int):
                return int(note["id"])
        return None

    # --- ticket fields -------------------------------------------------------------------------
    def _patch(self, ticket_external_id: str, **fields: Any) -> None:
        self.writer.json("PATCH", "/Tickets", json={"id": _whole(ticket_external_id, "Ticket"), **fields})

    def update_status(self, ticket_external_id: str, status: str) -> None:
        label = shapes.status_label_out(status, self.config)
        try:
            value = shapes.value_of(self.picklist("Tickets", "status"), label, field="ticket status")
        except ValueError as exc:
            raise SourceError(f"{exc}; map Gaby's {status!r} to one of them in the source's 'statuses'.") from None
        self._patch(ticket_external_id, status=value)

    def update_priority(self, ticket_external_id: str, priority: str) -> None:
        for value, label in self.picklist("Tickets", "priority").items():
            try:
                if shapes.priority_in(label, self.config) == priority:
                    self._patch(ticket_external_id, priority=value)
                    return
            except ValueError:
                continue  # a priority Gaby has no name for is never the one asked for
        raise SourceError(f"Autotask has no priority Gaby reads as {priority!r}; map one in 'priorities'.")

    def _time_resource(self, chosen: str) -> dict[str, Any]:
        """The resource time is written as, asked once per adapter: billing keeps a source's adapter for its next
        records (apps/billing/writeback.adapter_of), and one more query per entry would double each write's calls.
        A changed resource is seen when the source's configuration changes or the worker restarts."""
        key = chosen or f"user:{self.username}"
        if key not in self._resources:
            if chosen:
                self._resources[key] = self._item("Resources", _whole(chosen, "Resource"))
            else:
                self._resources[key] = self._resource("userName", self.username)  # the API user is a resource too
        return self._resources[key]

    def assign(self, ticket_external_id: str, assignee_email: str) -> None:
        """Assign to the resource with this email, in its default service desk role (Autotask wants both)."""
        if not assignee_email:
            self._patch(ticket_external_id, assignedResourceID=None, assignedResourceRoleID=None)
            return
        resource = self._resource("email", assignee_email.strip().lower())
        role = resource.get("defaultServiceDeskRoleID")
        if not isinstance(role, int):
            raise SourceError(f"Autotask resource {assignee_email} has no default service desk role to assign in.")
        self._patch(ticket_external_id, assignedResourceID=int(resource["id"]), assignedResourceRoleID=role)

    # --- time ----------------------------------------------------------------------------------
    def _time_body(self, entry: TimeEntry, note: str) -> dict[str, Any]:
        if entry.minutes <= 0:
            raise SourceError(f"A time entry needs a positive number of minutes, not {entry.minutes}.")
        resource = self._time_resource(entry.member_id or str(self.config.get("time_resource_id") or ""))
        role = str(self.config.get("time_role_id") or resource.get("defaultServiceDeskRoleID") or "")
        code = entry.work_type or str(self.config.get("time_billing_code_id") or "")
        if not code:
            raise SourceError(
                "Autotask needs a work type for time: set the billing rule's work type to a billing code id "
                "(Admin → Features & Settings → Billing Codes: Work Types) or the source's 'time_billing_code_id'."
            )
        end = timezone.now().replace(microsecond=0)
        body: dict[str, Any] = {
            "ticketID": _whole(entry.ticket_external_id, "Ticket"),
            "resourceID": int(resource["id"]),
            "roleID": _whole(role, "Role") if role else None,
            "billingCodeID": _whole(code, "Work type (billing code)"),
            "dateWorked": iso_z(end.replace(hour=0, minute=0, second=0)),
            "startDateTime": iso_z(end - timedelta(minutes=entry.minutes)),
            "endDateTime": iso_z(end),
            "hoursWorked": round(entry.minutes / 60, 4),
            "isNonBillable": not entry.billable,
            "summaryNotes": note,
        }
        if entry.agreement_id:
            body["contractID"] = _whole(entry.agreement_id, "Contract")
        return body

    def log_time_entry(self, ticket_external_id: str, *, minutes: int, note: str, billable: bool) -> None:
        """A time entry charged to the ticket, ending now, as the source's resource and work type."""
        entry = TimeEntry(key="", ticket_external_id=ticket_external_id, minutes=minutes, note=note, billable=billable)
        self.writer.json("POST", "/TimeEntries", json=self._time_body(entry, note))

    def write_time_entry(self, entry: TimeEntry) -> str:
        """The time entry with the record's marker ending its summary (once), so ``find_time_entry`` can tell
        after a lost answer; the rule's member is the resource, its work type the billing code, its agreement the
        contract. Returns Autotask's entry id."""
        if entry.marker in entry.note:
            note = entry.note
        else:
            note = f"{entry.note}\n\n{entry.marker}" if entry.note else entry.marker
        written = self.writer.json("POST", "/TimeEntries", json=self._time_body(entry, note))
        return str(written["itemId"]) if isinstance(written, dict) and "itemId" in written else ""

    def find_time_entry(self, entry: TimeEntry) -> str | None:
        """The ticket's time entry whose summary carries the marker: the one an earlier attempt wrote."""
        conditions: list[dict[str, Any]] = [
            {"op": "eq", "field": "ticketID", "value": _whole(entry.ticket_external_id, "Ticket")},
            {"op": "contains", "field": "summaryNotes", "value": entry.marker},
        ]
        for found in self.query("TimeEntries", conditions):
            if entry.marker in str(found.get("summaryNotes") or "") and "id" in found:
                return str(found["id"])
        return None
