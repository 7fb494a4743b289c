"""Entity extraction: the email, order, invoice or user name a ticket is about, from its text.

Named patterns cover what L1 tickets carry; a playbook may give its own regex (group 1 when it has groups).
The contact's email or name is the fallback when the text names none — the customer usually means themself.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from apps.agent.contracts import TicketView
    from apps.agent.playbooks.schema import EntitySpec

NAMED_PATTERNS = {
    "email": r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}",
    # "order #4821", "order no. A-1001", "ORD-2024-0042"
    "order_id": r"(?i)(?:\border\s*(?:id|number|no\.?|#)?\s*[:#]?\s*#?\s*([A-Z]*-?\d[\w-]*)|\b(ORD-[\w-]+))",
    # Stripe invoice ids (in_...), or "invoice INV-0042" / "invoice #1042"
    "invoice_id": r"(?i)\b(in_[A-Za-z0-9]{6,})\b|\binvoice\s*(?:id|number|no\.?|#)?\s*[:#]?\s*#?\s*([A-Z]*-?\d[\w-]*)",
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
