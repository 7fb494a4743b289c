"""ConnectWise records read as Gaby's: statuses and priorities by name, notes as messages, contacts' emails.

Manage's status ids belong to each service board and priority ids to each site, so both are matched by name:
a board's "New" is new, "Waiting on Client" pending, "Completed" solved, "Closed" closed; "Priority 1 - …" is
urgent through "Priority 4 - …" low. A site that names them otherwise maps them in the source's configuration
(``statuses``: Gaby status → board status name; ``priorities``: Manage priority name → Gaby priority).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from apps.tickets.normalized import NormalizedMessage
from apps.tickets.sources.vendor import parse_time

STATUS_NAMES_OUT = {
    "new": "New",
    "open": "In Progress",
    "pending": "Waiting on Client",
    "on_hold": "On Hold",
    "solved": "Completed",
    "closed": "Closed",
}
STATUS_WORDS_IN = (  # the first word found in a status name decides, in this order
    ("new", "new"),
    ("waiting", "pending"),
    ("hold", "on_hold"),
    ("complete", "solved"),
    ("resolved", "solved"),
    ("closed", "closed"),
)
PRIORITY_NUMBERS = {1: "urgent", 2: "high", 3: "normal", 4: "low"}
PRIORITY_NAME = re.compile(r"^\s*priority\s*(\d+)", re.IGNORECASE)


def status_in(ticket: Mapping[str, Any], config: Mapping[str, Any]) -> str:
    name = str((ticket.get("status") or {}).get("name") or "").strip()
    custom = {str(v).lower(): k for k, v in dict(config.get("statuses") or {}).items()}
    if name.lower() in custom:
        return str(custom[name.lower()])
    lowered = name.lower().lstrip(">")  # Manage marks closed statuses ">Closed" on some boards
    for word, status in STATUS_WORDS_IN:
        if word in lowered:
            return status
    return "closed" if ticket.get("closedFlag") else "open"  # an unknown open status is open work


def status_name_out(status: str, config: Mapping[str, Any]) -> str:
    return str(dict(config.get("statuses") or {}).get(status) or STATUS_NAMES_OUT[status])


def priority_in(name: str, config: Mapping[str, Any]) -> str:
    """Gaby's priority for a Manage priority name; an unknown name raises (the ticket is quarantined with why)."""
    custom = {str(k).lower(): str(v) for k, v in dict(config.get("priorities") or {}).items()}
    if name.lower() in custom:
        return custom[name.lower()]
    match = PRIORITY_NAME.match(name)
    if match is None:
        raise ValueError(
            f"unknown priority {name!r}: map it in the source's 'priorities' setting, e.g. {{{name!r}: 'normal'}}"
        )
    return PRIORITY_NUMBERS.get(int(match.group(1)), "low")


def contact_email(contact: Mapping[str, Any]) -> str:
    """The contact's email among its communication items: the default one first."""
    items = [i for i in contact.get("communicationItems") or [] if isinstance(i, dict)]
    emails = [i for i in items if i.get("communicationType") == "Email" and i.get("value")]
    emails.sort(key=lambda i: not i.get("defaultFlag"))
    return str(emails[0]["value"]) if emails else ""


def message(note: Any) -> NormalizedMessage:
    """A ticket note: ``internalAnalysisFlag`` is a private note; a member wrote it (outbound) or a contact did."""
    if not isinstance(note, dict) or not isinstance(note.get("id"), int):
        raise ValueError(f"a note without an id: {str(note)[:100]}")
    member, contact = note.get("member"), note.get("contact")
    author = (member or contact or {}).get("name") if isinstance(member or contact, dict) else None
    internal = bool(note.get("internalAnalysisFlag")) and not note.get("detailDescriptionFlag")
    return NormalizedMessage(
        external_id=f"note-{note['id']}",
        body=str(note.get("text") or ""),
        author_label=str(author or note.get("createdBy") or ""),
        direction="outbound" if isinstance(member, dict) else "inbound",
        kind="internal_note" if internal else "public_reply",
        created_at=parse_time(note.get("dateCreated")),
    )
