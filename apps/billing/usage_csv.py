"""The usage ledger as CSV, one row per client, month, workflow, user and connector, for a spreadsheet or an invoice.

Written with the standard ``csv`` module (quoting, embedded commas, quotes and newlines handled). A cell that a
spreadsheet would run as a formula (it starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return; requester
addresses and connector names come from outside) is prefixed with an apostrophe, as OWASP advises against CSV
injection: the text stays readable and is never evaluated.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from apps.billing.usage import UsageRow, user_labels

HEADER = ["client", "client_name", "month", "workflow", "user", "connector", "calls", "tokens", "cost_usd"]
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: str) -> str:
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value


def usage_csv(rows: Iterable[UsageRow], names: dict[str, str]) -> str:
    """``rows`` as CSV text; ``names``: each client's name by schema."""
    rows = sorted(rows, key=lambda r: (r.schema, r.month, r.workflow, r.user, r.connector))
    labels = user_labels(rows)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    for row in rows:
        writer.writerow(
            [
                _cell(row.schema),
                _cell(names.get(row.schema, row.schema)),
                f"{row.month:%Y-%m}",
                _cell(row.workflow),
                _cell(labels.get(row.user, row.user)),
                _cell(row.connector or "No connector"),
                row.calls,
                f"{row.tokens:.0f}",
                f"{row.cost_usd:.6f}",
            ]
        )
    return out.getvalue()
