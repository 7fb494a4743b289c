"""A month a ticket names for a document ("my March invoice", "die Rechnung für März", "la factura de marzo"),
and the record of that month in a tool's result.

A customer who names the month means that month's invoice: a playbook must find it or say it cannot, never fall
back to another one (the open one, the newest). ``invoice_month`` is the entity type (apps/agent/playbooks
/entities.py) and ``in_month(records, month)`` the template function that picks the record created in it.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

from jinja2 import Undefined

# English, German, French and Spanish names, with the usual abbreviations.
MONTHS: dict[str, int] = {}
for number, names in enumerate(
    [
        "january jan januar janvier enero",
        "february feb februar février fevrier febrero",
        "march mar märz maerz mars marzo",
        "april apr avril abril",
        "may mai mayo",
        "june jun juni juin junio",
        "july jul juli juillet julio",
        "august aug août aout agosto",
        "september sep sept septembre septiembre setiembre",
        "october oct oktober okt octobre octubre",
        "november nov novembre noviembre",
        "december dec dezember dez décembre decembre diciembre dic",
    ],
    start=1,
):
    MONTHS.update(dict.fromkeys(names.split(), number))

# "May" is also a verb ("may I get a copy?"): only "May" capitalised and not asking counts.
_NAMES = "|".join(sorted((re.escape(n) for n in MONTHS if n != "may"), key=len, reverse=True)) + r"|(?-i:May)(?! I\b)"
_MONTH = rf"((?:{_NAMES})\.?(?:\s+\d{{4}})?)"
_DOCUMENT = r"(?:invoices?|bills?|statements?|receipts?|rechnung(?:en)?|factures?|facturas?|recibos?)"
# "March invoice", "March 2026's bill", or "invoice for March", "Rechnung vom März", "facture de mars".
INVOICE_MONTH = (
    rf"(?i)\b{_MONTH}(?:'s)?\s+{_DOCUMENT}\b"
    rf"|\b{_DOCUMENT}\b[^.?!\n]{{0,30}}?\b(?:for|from|of|dated|in|für|vom|von|aus|de|du|d'|del)\s+"
    rf"(?:the month of\s+|le mois de\s+|el mes de\s+)?{_MONTH}\b"
)


def parse(named: Any) -> tuple[int, int | None] | None:
    """``"March 2026"`` → ``(3, 2026)``; ``"mars"`` → ``(3, None)``; anything else → None."""
    if named is None or isinstance(named, Undefined):
        return None
    words = str(named).lower().replace(".", " ").split()
    if not words or words[0] not in MONTHS:
        return None
    year = int(words[1]) if len(words) > 1 and words[1].isdigit() else None
    return MONTHS[words[0]], year


def _day(value: Any) -> date | None:
    """A record's date: epoch seconds (Stripe's ``created``) or an ISO 8601 text."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, tz=UTC).date()
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).date()
        except ValueError:
            return None
    return None


def in_month(items: list[Any], named: Any, field: str = "created") -> Any:
    """The first of ``items`` (records, newest first as tools list them) whose ``field`` falls in the month
    ``named`` (and its year, when given); None when none does or nothing was named. Templates call it on a tool's
    result as it came (apps/agent/playbooks/templating.py turns that into records first)."""
    wanted = parse(named)
    if wanted is None:
        return None
    month, year = wanted
    for item in items:
        day = _day(item.get(field)) if isinstance(item, dict) else None
        if day is not None and day.month == month and (year is None or day.year == year):
            return item
    return None


def month_of(value: Any) -> str:
    """A record's month in words ("November 2026") for a reply listing what was found."""
    day = _day(value)
    return day.strftime("%B %Y") if day else ""
