"""Calendar months as Gaby bills them: UTC, named by their first day. The one place a month is worked out.

The quota (apps/llm/quota.py), the monthly usage rollup (apps/llm/rollup.py), the usage ledger
(apps/billing/usage.py), the costs page and its CSV (apps/billing/costs.py) and the portal's cards
(apps/portal/cards.py) all ask here, so a call made at 23:30 on the last day of a month in New York is in the same
month on every page (the UTC one), and the page and its CSV cover the same months.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from django.utils import timezone


def month_of(moment: datetime) -> date:
    """The first day of ``moment``'s month, in UTC."""
    return moment.astimezone(UTC).date().replace(day=1)


def this_month(now: datetime | None = None) -> date:
    return month_of(now or timezone.now())


def next_month(month: date) -> date:
    return date(month.year + (month.month == 12), month.month % 12 + 1, 1)


def start_of(month: date) -> datetime:
    """The month's first instant, UTC."""
    return datetime(month.year, month.month, 1, tzinfo=UTC)


def bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """From the first instant of ``first``'s month to the first instant after ``last``'s month, UTC."""
    return start_of(first), start_of(next_month(last))


def months_back(last: date, count: int) -> list[date]:
    """``count`` months ending with ``last``'s, oldest first."""
    months = []
    year, month = last.year, last.month
    for _ in range(count):
        months.append(date(year, month, 1))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return months[::-1]
