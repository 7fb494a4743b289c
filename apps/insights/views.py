"""The client's dashboard: tickets and Gaby's work over the last days, drawn as SVG charts with their tables."""

from __future__ import annotations

from django.http import HttpResponse

from apps.core.http import ClientRequest, render_page
from apps.insights import charts
from apps.insights.metrics import MINUTES_PER_RESOLVED_TICKET, dashboard

WINDOWS = (7, 30, 90)


def duration(minutes: float | None) -> str:
    if minutes is None:
        return "—"
    if minutes < 90:
        return f"{minutes:.0f} min"
    if minutes < 48 * 60:
        return f"{minutes / 60:.1f} h"
    return f"{minutes / 1440:.1f} days"


def overview(request: ClientRequest) -> HttpResponse:
    raw = request.GET.get("days", "30")
    days = int(raw) if raw.isdigit() and int(raw) in WINDOWS else 30
    board = dashboard(request.tenant, days=days)
    labels = [day.strftime("%b %d") for day in board.days]
    context = {
        "board": board,
        "days": days,
        "windows": WINDOWS,
        "minutes_per_ticket": MINUTES_PER_RESOLVED_TICKET,
        "first_response": duration(board.first_response_minutes),
        "totals": {
            "tickets": sum(board.tickets_in),
            "resolved": sum(board.resolved),
            "escalated": sum(board.escalated),
        },
        "rows": list(zip(labels, board.tickets_in, board.resolved, board.escalated, board.cost, strict=True)),
        "volume_chart": charts.bars(
            labels,
            [
                charts.Series("Tickets in", board.tickets_in),
                charts.Series("Resolved by Gaby", board.resolved),
                charts.Series("Escalated", board.escalated),
            ],
            title=f"Tickets and Gaby's outcomes per day, last {days} days",
        ),
        "cost_chart": charts.bars(
            labels, [charts.Series("LLM cost", board.cost)], title=f"LLM cost per day, last {days} days", unit="USD"
        ),
    }
    return render_page(request, "insights/overview.html", context)
