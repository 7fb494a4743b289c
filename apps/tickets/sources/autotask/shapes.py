"""Autotask records read as Gaby's: picklist labels for statuses, priorities and note visibility; notes as messages.

Autotask stores picklists as integers whose labels each database may rename or extend, so Gaby reads the labels
(``GET /{Entity}/entityInformation/fields``) and matches by name: a ticket status "New" is new, "Waiting …"
pending, "On Hold" on hold, "Complete" solved; "Critical" is urgent, "High" high, "Medium" normal, "Low" low. A
database that names them otherwise maps them in the source's configuration (``statuses``: Gaby status → Autotask
status label; ``priorities``: Autotask priority label → Gaby priority). A note published "Internal Only" is an
internal note; anything else the contact can see.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from apps.tickets.normalized import NormalizedMessage
from apps.tickets.sources.vendor import parse_time

STATUS_LABELS_OUT = {
    "new": "New",
    "open": "In Progress",
    "pending": "Waiting Customer",
    "on_hold": "On Hold",
    "solved": "Complete",
    "closed": "Complete",  # Autotask's one closed status
}
STATUS_WORDS_IN = (("new", "new"), ("waiting", "pending"), ("hold", "on_hold"), ("complete", "solved"),
                   ("closed", "closed"))  # fmt: skip
PRIORITY_LABELS_IN = {"critical": "urgent", "urgent": "urgent", "high": "high", "medium": "normal", "low": "low"}

Picklist = dict[int, str]  # value → label


def status_in(label: str, config: Mapping[str, Any]) -> str:
    custom = {str(v).lower(): str(k) for k, v in dict(config.get("statuses") or {}).items()}
    if label.lower() in custom:
        return custom[label.lower()]
    for word, status in STATUS_WORDS_IN:
        if word in label.lower():
            return status
    return "open"  # an unknown status is open work


def status_label_out(status: str, config: Mapping[str, Any]) -> str:
    return str(dict(config.get("statuses") or {}).get(status) or STATUS_LABELS_OUT[status])


def priority_in(label: str, config: Mapping[str, Any]) -> str:
    """Gaby's priority for an Autotask priority label; an unknown one raises (the ticket is quarantined with why)."""
    custom = {str(k).lower(): str(v) for k, v in dict(config.get("priorities") or {}).items()}
    wanted = label.strip().lower()
    if wanted in custom:
        return custom[wanted]
    if wanted in PRIORITY_LABELS_IN:
        return PRIORITY_LABELS_IN[wanted]
    raise ValueError(
        f"unknown priority {label!r}: map it in the source's 'priorities' setting, e.g. {{{label!r}: 'normal'}}"
    )


def value_of(picklist: Picklist, label: str, *, field: str) -> int:
    """The picklist value with this label (without case); a missing label says which exist."""
    for value, name in picklist.items():
        if name.strip().lower() == label.strip().lower():
            return value
    raise ValueError(f"Autotask has no {field} labelled {label!r} (it has: {', '.join(picklist.values())})")


def internal_publish(picklist: Picklist) -> set[int]:
    return {value for value, label in picklist.items() if "internal" in label.lower()}


def message(note: Any, *, internal: set[int]) -> NormalizedMessage:
    """A ticket note: a resource (the MSP's staff) wrote it (outbound) or the contact did (inbound)."""
    if not isinstance(note, dict) or not isinstance(note.get("id"), int):
        raise ValueError(f"a note without an id: {str(note)[:100]}")
    title, text = str(note.get("title") or "").strip(), str(note.get("description") or "")
    return NormalizedMessage(
        external_id=f"note-{note['id']}",
        body=text,
        author_label=f"resource {note['creatorResourceID']}" if note.get("creatorResourceID") else title,
        direction="outbound" if note.get("creatorResourceID") else "inbound",
        kind="internal_note" if note.get("publish") in internal else "public_reply",
        created_at=parse_time(note.get("createDateTime")),
    )
