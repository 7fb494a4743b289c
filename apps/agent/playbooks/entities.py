"""Entity extraction: the account, order, invoice or user name a ticket is about.

An ``email`` entity is the account the ticket acts for — the verified requester's address (``TicketView
.acts_for``), **never** an address found in the text: an address in a body, a signature or a forwarded header
is not the person asking (apps/safety/requester.py). Other named patterns (order, invoice, charge ids, user
names) are read from the requester's own words; a playbook may give its own regex (group 1 when it has
groups). The contact's email or name is the fallback when the text names none.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from apps.agent.playbooks.months import INVOICE_MONTH

if TYPE_CHECKING:
    from apps.agent.contracts import TicketView


@dataclass(frozen=True)
class EntitySpec:
    """One entity a playbook extracts from the ticket (its ``entities:`` list)."""

    name: str
    pattern: str  # a regex; group 1 when it has groups, else the whole match
    fallback: str = ""  # "contact_email" | "contact_name" | ""
    required: bool = False
    kind: str = ""  # the named type ("email", "order_id", ...) or "regex"


NAMED_PATTERNS = {
    "email": r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}",
    # "order #4821", "order no. A-1001", "ORD-2024-0042"
    # and an id a few words after "order": "their key order, NW-10044", "order from last week (NW-10042)"
    "order_id": r"(?i)(?:\border\s*(?:id|number|no\.?|#)?\s*[:#]?\s*#?\s*([A-Z]*-?\d[\w-]*)|\b(ORD-[\w-]+)"
    r"|\border\b[^.?!\n]{0,30}?\b([A-Z]{2,5}-\d{3,}[\w-]*))",
    # Stripe invoice ids (in_...), or "invoice INV-0042" / "invoice #1042"
    "invoice_id": r"(?i)\b(in_[A-Za-z0-9]{6,})\b|\binvoice\s*(?:id|number|no\.?|#)?\s*[:#]?\s*#?\s*([A-Z]*-?\d[\w-]*)",
    # the month an invoice is named by: "my March invoice", "the bill for October 2026", "facture de mars"
    "invoice_month": INVOICE_MONTH,
    "charge_id": r"\b((?:ch|pi|py)_[A-Za-z0-9]{6,})\b",
    # "username: jdoe", "my user name is jdoe", "login jdoe"
    "username": r"(?i)\b(?:user\s?name|login|user\s?id)\s*(?:is|:|=)?\s*[\"'`]?([A-Za-z0-9][\w.-]{1,63})",
}
FALLBACKS = ("contact_email", "contact_name")


def _first(pattern: str, text: str) -> str:
    for match in re.finditer(pattern, text):
        groups = [group for group in match.groups() if group]
        value = groups[0] if groups else match.group(0)
        value = value.strip().rstrip(".,;:!?)")
        if value:
            return value
    return ""


def extract(specs: Iterable[EntitySpec], ticket: TicketView) -> tuple[dict[str, Any], list[str], dict[str, str]]:
    """``(values, missing required names, where each value came from: "ticket" or the fallback)``."""
    values: dict[str, Any] = {}
    origin: dict[str, str] = {}
    missing = []
    for spec in specs:
        if spec.kind == "email":
            value, origin[spec.name] = ticket.acts_for or ticket.contact_email, "requester"
            if value:
                values[spec.name] = value
            elif spec.required:
                origin.pop(spec.name)
                missing.append(spec.name)
            continue
        value = _first(spec.pattern, ticket.text)
        origin[spec.name] = "ticket"
        if not value and spec.fallback:
            value = str(getattr(ticket, spec.fallback, "") or "")
            origin[spec.name] = spec.fallback
        if value:
            values[spec.name] = value
        else:
            origin.pop(spec.name)
            if spec.required:
                missing.append(spec.name)
    return values, missing, origin
