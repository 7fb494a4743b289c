"""The client dashboard: every figure counted from the records, by day in the client's time zone, drawn as SVG."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from apps.agent.models import Investigation, InvestigationStatus
from apps.insights.charts import Series, bars
from apps.insights.metrics import MINUTES_PER_RESOLVED_TICKET, dashboard
from apps.llm.models import LLMCall
from apps.tickets import services
from apps.tickets.models import Direction, Message, MessageKind, Ticket
from apps.tickets.normalized import NormalizedContact, NormalizedMessage, NormalizedTicket

pytestmark = pytest.mark.django_db


def _ticket(source: Any, n: int, *, days_ago: int) -> Ticket:
    ticket = services.ingest_ticket(
        source=source,
        normalized=NormalizedTicket(
            external_id=f"T-{n}",
            title=f"Ticket {n}",
            body="Help",
            contact=NormalizedContact(email=f"user{n}@example.com"),
            messages=(NormalizedMessage(external_id=f"T-{n}-m1", body="Help"),),
        ),
    ).ticket
    Ticket.objects.filter(pk=ticket.pk).update(created_at=timezone.now() - timedelta(days=days_ago, minutes=30))
    ticket.refresh_from_db()
    return ticket


def _concluded(ticket: Ticket, verdict: str, *, decided_by: str = "knowledge") -> Investigation:
    return Investigation.objects.create(
        ticket=ticket,
        status=InvestigationStatus.DONE,
        verdict=verdict,
        decided_by=decided_by,
        finished_at=ticket.created_at + timedelta(minutes=5),
    )


@pytest.fixture
def history(in_hartwell: Any) -> dict[str, Any]:
    source = services.create_source(client=in_hartwell, kind="webhook", name="Portal", config={})
    tickets = [_ticket(source, n, days_ago=n % 3) for n in range(6)]
    _concluded(tickets[0], "auto_resolved", decided_by="playbook:vpn-reset")
    _concluded(tickets[1], "auto_resolved")
    _concluded(tickets[2], "needs_l2", decided_by="playbook:vpn-reset")
    _concluded(tickets[3], "needs_client")
    old = _ticket(source, 99, days_ago=45)  # outside a 30-day window
    _concluded(old, "auto_resolved")
    for ticket, minutes in ((tickets[0], 10), (tickets[1], 30), (tickets[2], 50)):
        reply = Message.objects.create(
            ticket=ticket, direction=Direction.OUTBOUND, kind=MessageKind.PUBLIC_REPLY, body="On it."
        )
        Message.objects.filter(pk=reply.pk).update(created_at=ticket.created_at + timedelta(minutes=minutes))
    LLMCall.objects.create(
        workflow="plan",
        provider_kind="openai",
        provider_name="OpenAI",
        model="gpt",
        prompt_name="plan",
        prompt_version=1,
        prompt_hash="x",
        cost_usd=Decimal("0.25"),
        status="ok",
    )
    return {"tickets": tickets}


def test_the_figures_are_counted_from_the_records(history: dict[str, Any], in_hartwell: Any) -> None:
    board = dashboard(in_hartwell, days=30)
    assert len(board.days) == 30 and board.days[-1] == timezone.localdate()
    assert sum(board.tickets_in) == 6  # the 45-day-old ticket is outside the window
    assert sum(board.resolved) == 2 and sum(board.escalated) == 2
    assert board.finished == 4 and board.resolution_rate == 0.5
    assert board.first_response_minutes == 30  # the median of 10, 30 and 50 minutes
    assert board.answered_tickets == 3
    assert board.llm_cost == Decimal("0.25") and sum(board.cost) == 0.25
    assert board.hours_saved == 2 * MINUTES_PER_RESOLVED_TICKET / 60
    (playbook,) = board.playbooks
    assert playbook["name"] == "vpn-reset" and playbook["runs"] == 2
    assert dict(playbook["outcomes"]) == {"Resolved by Gaby": 1, "Needs L2 support": 1}  # type: ignore[arg-type]
    assert sum(dashboard(in_hartwell, days=90).tickets_in) == 7


def test_bars_are_drawn_to_scale_and_escape_their_labels() -> None:
    svg = str(bars(["<b>Mon</b>", "Tue"], [Series("Tickets", [5, 10])], title="Per day"))
    heights = [float(h) for h in re.findall(r'<rect [^>]*height="([\d.]+)"', svg)]
    assert heights[1] == pytest.approx(2 * heights[0])  # the axis tops at 10: 5 is half as tall
    assert "&lt;b&gt;Mon&lt;/b&gt;" in svg and "<b>Mon" not in svg
    assert 'role="img"' in svg and "Tickets: 15 in total" in svg


def test_the_page_shows_stats_charts_and_the_table_and_is_for_members(
    history: dict[str, Any], as_user: Any, hartwell: Any
) -> None:
    page = as_user("bob", "hartwell").get("/dashboard/?days=7")
    body = page.content.decode()
    assert page.status_code == 200
    assert re.search(r'data-testid="stat-tickets">6<', body) and 'data-testid="stat-resolution">50%<' in body
    assert 'data-testid="stat-first-response">30 min<' in body
    assert body.count('<figure class="chart"><svg') == 2 and 'data-testid="playbook-row-vpn-reset"' in body
    assert "nav-item active" in body.split('data-testid="nav-dashboard"')[0].rsplit("<a", 1)[1]
    assert as_user("carol", "hartwell").get("/dashboard/").status_code == 403
    with tenant_context(hartwell):
        assert Ticket.objects.count() == 7  # nothing was written by reading the dashboard
