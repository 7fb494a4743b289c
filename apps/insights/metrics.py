"""What a client's dashboard shows, computed from the records themselves over a window of days (SUP-5, OBS-5).

Every figure is counted in the database, bucketed by day in the client's time zone: tickets in, what Gaby's
investigations concluded, the first public reply's delay, and the LLM's cost.
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import Count, OuterRef, Subquery, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from apps.agent.models import Investigation, InvestigationStatus, VerdictChoice
from apps.llm.models import LLMCall
from apps.tickets.models import Direction, Message, MessageKind, Ticket
from tenants.models import Client

ESCALATED = (VerdictChoice.NEEDS_TECH, VerdictChoice.NEEDS_L2, VerdictChoice.NEEDS_CLIENT)
# The assumption behind "time saved": an agent's minutes on a ticket Gaby resolved on its own. Shown beside the
# figure, so nobody reads it as measured.
MINUTES_PER_RESOLVED_TICKET = 12


@dataclass
class Dashboard:
    days: list[date]
    tickets_in: list[int]
    resolved: list[int]
    escalated: list[int]
    cost: list[float]
    verdicts: list[tuple[str, int]]
    finished: int
    resolution_rate: float | None
    first_response_minutes: float | None
    answered_tickets: int
    llm_cost: Decimal
    playbooks: list[dict[str, object]] = field(default_factory=list)

    @property
    def hours_saved(self) -> float:
        return sum(self.resolved) * MINUTES_PER_RESOLVED_TICKET / 60


def _per_day(rows: object, days: list[date], key: str = "n") -> list[int | float]:
    found = {row["day"]: row[key] or 0 for row in rows}  # type: ignore[attr-defined]
    return [found.get(day, 0) for day in days]


def dashboard(client: Client, *, days: int = 30, now: datetime | None = None) -> Dashboard:
    zone = ZoneInfo(client.time_zone or "UTC")
    today = timezone.localtime(now or timezone.now(), zone).date()
    span = [today - timedelta(days=offset) for offset in range(days - 1, -1, -1)]
    since = datetime.combine(span[0], datetime.min.time(), tzinfo=zone)

    tickets = Ticket.objects.filter(created_at__gte=since, deleted_at__isnull=True)
    tickets_in = _per_day(
        tickets.annotate(day=TruncDate("created_at", tzinfo=zone)).values("day").annotate(n=Count("id")), span
    )
    finished = Investigation.objects.filter(
        status__in=(InvestigationStatus.DONE, InvestigationStatus.FAILED),
        finished_at__gte=since,
        ticket__deleted_at__isnull=True,
    )
    by_day = finished.annotate(day=TruncDate("finished_at", tzinfo=zone)).values("day")
    resolved = _per_day(by_day.filter(verdict=VerdictChoice.AUTO_RESOLVED).annotate(n=Count("id")), span)
    escalated = _per_day(by_day.filter(verdict__in=ESCALATED).annotate(n=Count("id")), span)
    mix = Counter(dict(finished.values_list("verdict").annotate(n=Count("id")).values_list("verdict", "n")))
    labels = dict(VerdictChoice.choices)
    verdicts = [(labels.get(verdict, verdict or "No verdict"), n) for verdict, n in mix.most_common()]
    concluded = sum(mix.values())

    first_reply = (
        Message.objects.filter(ticket=OuterRef("pk"), direction=Direction.OUTBOUND, kind=MessageKind.PUBLIC_REPLY)
        .order_by("created_at")
        .values("created_at")[:1]
    )
    delays = [
        (replied - created).total_seconds() / 60
        for created, replied in tickets.annotate(replied=Subquery(first_reply))
        .exclude(replied=None)
        .values_list("created_at", "replied")
    ]
    calls = LLMCall.objects.filter(created_at__gte=since)
    cost = _per_day(
        calls.annotate(day=TruncDate("created_at", tzinfo=zone)).values("day").annotate(c=Sum("cost_usd")), span, "c"
    )
    outcomes: dict[str, Counter[str]] = {}
    for decided_by, verdict, n in (
        finished.filter(decided_by__startswith="playbook:")
        .values_list("decided_by", "verdict")
        .annotate(n=Count("id"))
        .values_list("decided_by", "verdict", "n")
    ):
        outcomes.setdefault(decided_by, Counter())[verdict] += n
    playbooks: list[dict[str, object]] = [
        {
            "name": decided_by.removeprefix("playbook:"),
            "runs": sum(counts.values()),
            "outcomes": [(labels.get(v, v), n) for v, n in counts.most_common()],
        }
        for decided_by, counts in sorted(outcomes.items(), key=lambda item: -sum(item[1].values()))
    ]
    return Dashboard(
        days=span,
        tickets_in=[int(v) for v in tickets_in],
        resolved=[int(v) for v in resolved],
        escalated=[int(v) for v in escalated],
        cost=[float(v) for v in cost],
        verdicts=verdicts,
        finished=concluded,
        resolution_rate=mix[VerdictChoice.AUTO_RESOLVED] / concluded if concluded else None,
        first_response_minutes=statistics.median(delays) if delays else None,
        answered_tickets=len(delays),
        llm_cost=calls.aggregate(total=Sum("cost_usd"))["total"] or Decimal(0),
        playbooks=playbooks,
    )
