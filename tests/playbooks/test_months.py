"""The month a ticket names for an invoice, and the record of that month (apps/agent/playbooks/months.py)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from apps.agent.playbooks.months import INVOICE_MONTH, month_of, parse
from apps.agent.playbooks.templating import ENV


def in_month(items: Any, month: Any) -> Any:
    """As a playbook calls it: on a tool's result as it came."""
    return ENV.globals["in_month"](items, month)  # type: ignore[operator]


NOV, OCT = 1793523600, 1790845200  # 2026-11-01 and 2026-10-01, 09:00 UTC


def named(text: str) -> str | None:
    found = re.search(INVOICE_MONTH, text)
    return next(group for group in found.groups() if group) if found else None


@pytest.mark.parametrize(
    ("text", "month"),
    [
        ("Could you resend my March invoice?", "March"),
        ("I never got the invoice for October 2026.", "October 2026"),
        ("Please resend November's invoice", "November"),
        ("die Rechnung für März fehlt", "März"),
        ("je n'ai pas reçu la facture de mars", "mars"),
        ("no recibí la factura de marzo", "marzo"),
        ("My May invoice is missing", "May"),
        ("May I get a copy of the invoice?", None),  # a verb, not the month
        ("the invoice may be late", None),
        ("invoice #1042 please", None),
    ],
)
def test_the_month_named_for_an_invoice(text: str, month: str | None) -> None:
    assert named(text) == month


def test_the_record_of_the_named_month_or_none() -> None:
    invoices = {"invoices": [{"id": "in_nov", "created": NOV}, {"id": "in_oct", "created": "2026-10-01T09:00:00Z"}]}
    assert in_month(invoices, "October")["id"] == "in_oct"
    assert in_month(invoices, "novembre 2026")["id"] == "in_nov"
    assert in_month(invoices, "November 2025") is None  # the year, when given, must match too
    assert in_month(invoices, "March") is None  # never another month's in its place
    assert in_month(invoices, None) is None and parse("someday") is None
    assert month_of(OCT) == "October 2026"
