"""Inbox changes reach the help desk: status, priority, tags and assignee pushed through each adapter against
recorded exchanges (each with a 429 + Retry-After and a 5xx), idempotent, never echoed, failures visible."""

from collections.abc import Callable
from typing import Any

import pytest
from django_tenants.utils import tenant_context

from apps.tickets import services, tasks, writeback
from apps.tickets.models import PushState, Ticket, TicketPush
from apps.tickets.normalized import NormalizedTicket
from tests.tickets import test_freshdesk, test_github, test_linear, test_zendesk, test_zoho
from tests.tickets.recorded import replaying

pytestmark = pytest.mark.django_db

VENDORS: dict[str, tuple[str, Callable[[str], dict[str, Any]], str, str, set[str]]] = {
    # kind: (external id, config, status pushed, recording, fields the desk takes)
    "zendesk": ("101", test_zendesk.config, "pending", "zendesk", {"status", "priority", "tags", "assignee"}),
    "freshdesk": ("42", test_freshdesk.config, "pending", "freshdesk", {"status", "priority", "tags", "assignee"}),
    "zoho": ("3001", test_zoho.config, "on_hold", "zoho", {"status", "priority", "assignee"}),
    "github": ("7", test_github.config, "solved", "github", {"status", "tags", "assignee"}),
    "linear": (
        "8f0c1a52-0b1d-4c1e-9a55-1a2b3c4d5e07",
        test_linear.config,
        "pending",
        "linear",
        {"status", "priority", "tags", "assignee"},
    ),
}


def _open_ticket(source: Any, external_id: str) -> Ticket:
    normalized = NormalizedTicket(external_id, "VPN drops", status="open", priority="normal", tags=())
    return services.ingest_ticket(source=source, normalized=normalized).ticket


def _push_all(ticket: Ticket) -> dict[str, str]:
    order = ["status", "priority", "tags", "assignee"]
    rows = sorted(TicketPush.objects.filter(ticket=ticket), key=lambda p: order.index(p.field))
    return {row.field: writeback.push(row.pk, row.version) for row in rows}


@pytest.mark.parametrize("kind", list(VENDORS))
def test_inbox_changes_are_pushed_to_each_help_desk(
    kind: str, make_source: Any, hartwell: Any, people: Any, django_capture_on_commit_callbacks: Any
) -> None:
    external_id, config, status, recording, writable = VENDORS[kind]
    with replaying(recording, "pushback") as server:
        source = make_source(kind=kind, name=kind.title(), **config(server.url))
        with tenant_context(hartwell):
            ticket = _open_ticket(source, external_id)
            assert not TicketPush.objects.exists()  # ingestion (the source's own change) queues nothing
            with django_capture_on_commit_callbacks() as sent:
                services.change_status(ticket=ticket, status=status, actor=people["bob"])
                services.change_priority(ticket=ticket, priority="urgent", actor=people["bob"])
                services.set_tags(ticket=ticket, tags=["vpn", "Network"], actor=people["bob"])
                services.assign(ticket=ticket, assignee_id=people["bob"].pk, actor=people["bob"])
            assert {p.field for p in TicketPush.objects.filter(ticket=ticket)} == writable
            assert len(sent) >= len(writable)  # one push task per field, sent only on commit
            outcome = _push_all(ticket)
            assert outcome == dict.fromkeys(writable, "sent")
            assert set(TicketPush.objects.values_list("state", flat=True)) == {PushState.SENT}
            # A retried (or duplicated) task finds its version sent and writes nothing.
            assert set(_push_all(ticket).values()) == {"not-queued"}
        server.check()


def test_a_change_from_the_source_does_not_echo_back(make_source: Any, hartwell: Any) -> None:
    source = make_source(kind="zendesk", name="Zendesk", **test_zendesk.config("http://127.0.0.1:9"))
    with tenant_context(hartwell):
        ticket = _open_ticket(source, "101")
        changed = NormalizedTicket("101", "VPN drops", status="solved", priority="high", tags=("vpn",))
        services.ingest_ticket(source=source, normalized=changed)
        ticket.refresh_from_db()
        assert (ticket.status, ticket.priority, ticket.tags) == ("solved", "high", ["vpn"])
        assert not TicketPush.objects.exists()


def test_sources_without_the_capability_skip_quietly(make_source: Any, hartwell: Any, people: Any) -> None:
    for kind in ("email", "webhook"):
        source = make_source(kind=kind, name=f"{kind} source")
        with tenant_context(hartwell):
            ticket = _open_ticket(source, f"{kind}-1")
            services.change_status(ticket=ticket, status="pending", actor=people["bob"])
            services.set_tags(ticket=ticket, tags=["vpn"], actor=people["bob"])
            assert Ticket.objects.get(pk=ticket.pk).status == "pending"
            assert not TicketPush.objects.filter(ticket=ticket).exists()


def test_a_long_retry_after_is_retried_later_then_succeeds(make_source: Any, hartwell: Any, people: Any) -> None:
    """A 429 asking for more than the seam waits is not slept through: the push goes back to queued with the
    reason, the task retries with the vendor's Retry-After as countdown (run eagerly here), then it is sent."""
    exchanges = "retry_later"
    with replaying("zendesk", exchanges) as server:
        source = make_source(kind="zendesk", name="Zendesk", **test_zendesk.config(server.url))
        with tenant_context(hartwell):
            ticket = _open_ticket(source, "101")
            services.change_priority(ticket=ticket, priority="high", actor=people["bob"])
            row = TicketPush.objects.get(ticket=ticket)
            with pytest.raises(writeback.RetryPush) as raised:
                writeback.push(row.pk, row.version)
            assert raised.value.retry_after == 3600
            row.refresh_from_db()
            assert row.state == PushState.QUEUED and "Will retry" in row.error and row.attempts == 1
            result = tasks.push_change.apply(args=[str(row.pk), row.version])
            assert result.get() == "sent"
            row.refresh_from_db()
            assert (row.state, row.pushed_version, row.error) == (PushState.SENT, 1, "")
        server.check()


def test_a_refused_push_is_shown_on_the_ticket_and_can_be_retried(
    make_source: Any, hartwell: Any, people: Any, as_user: Any
) -> None:
    with replaying("zendesk", "refused") as server:
        source = make_source(kind="zendesk", name="Zendesk", **test_zendesk.config(server.url))
        with tenant_context(hartwell):
            ticket = _open_ticket(source, "101")
            services.assign(ticket=ticket, assignee_id=people["bob"].pk, actor=people["bob"])
            row = TicketPush.objects.get(ticket=ticket)
            assert writeback.push(row.pk, row.version) == "failed"
            row.refresh_from_db()
            assert row.state == PushState.FAILED and "answered 422" in row.error
        api = as_user("bob", "hartwell").get(f"/api/v1/tickets/{ticket.pk}").json()
        assert [(p["field"], p["state"], p["version"], p["pushed_version"]) for p in api["writeback"]] == [
            ("assignee", "failed", 1, 0)
        ]
        page = as_user("bob", "hartwell").get(f"/inbox/t/{ticket.pk}/")
        html = page.content.decode()
        assert 'data-testid="push-error"' in html and "422" in html and 'data-testid="push-retry"' in html
        # Dearborn's admin cannot retry Hartwell's push; a viewer-less agent of Hartwell can.
        url = f"/inbox/t/{ticket.pk}/push/{row.pk}/retry/"
        assert as_user("carol", "dearborn").post(url).status_code in (403, 404)
        assert as_user("carol", "hartwell").post(url).status_code in (403, 404)
        with tenant_context(hartwell):
            assert TicketPush.objects.get(pk=row.pk).state == PushState.FAILED
        assert as_user("bob", "hartwell").post(url, HTTP_HX_REQUEST="true").status_code == 200
        with tenant_context(hartwell):
            row.refresh_from_db()
            assert row.state == PushState.QUEUED and row.error == ""
            assert writeback.push(row.pk, row.version) == "sent"
        server.check()


def test_a_change_made_while_a_push_is_in_flight_goes_out_next(
    make_source: Any, hartwell: Any, people: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with replaying("zendesk", "superseded") as server:
        source = make_source(kind="zendesk", name="Zendesk", **test_zendesk.config(server.url))
        with tenant_context(hartwell):
            ticket = _open_ticket(source, "101")
            services.change_priority(ticket=ticket, priority="high", actor=people["bob"])
            row = TicketPush.objects.get(ticket=ticket)
            assert writeback.claim(row.pk, 1)  # a worker took version 1 ...
            with django_capture_on_commit_callbacks() as sent:
                services.change_priority(ticket=ticket, priority="low", actor=people["bob"])
            assert [c.__qualname__ for c in sent] == ["_changed.<locals>.<lambda>"]  # live only: v2 waits for v1
            with django_capture_on_commit_callbacks() as sent:
                writeback._finish(row, 1, state=PushState.SENT, error="")  # version 1 lands at Zendesk
            row.refresh_from_db()
            assert (row.state, row.pushed_version, row.version) == (PushState.QUEUED, 1, 2) and len(sent) == 2
            assert writeback.push(row.pk, 1) == "not-queued"  # a late retry of version 1 is never sent again
            assert writeback.push(row.pk, 2) == "sent"
        server.check()


def test_the_sweep_resends_lost_pushes_and_fails_unconfirmed_ones(
    make_source: Any, hartwell: Any, people: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    with replaying("zendesk", "retry_later") as server:
        source = make_source(kind="zendesk", name="Zendesk", **test_zendesk.config(server.url))
        with tenant_context(hartwell):
            ticket = _open_ticket(source, "101")
            services.change_priority(ticket=ticket, priority="high", actor=people["bob"])
            services.change_status(ticket=ticket, status="pending", actor=people["bob"])
            lost = TicketPush.objects.get(ticket=ticket, field="priority")  # its task never reached a worker
            stuck = TicketPush.objects.get(ticket=ticket, field="status")
            assert writeback.claim(stuck.pk, stuck.version)  # a worker took it, then died mid-call
            assert writeback.sweep() == ([], 0)  # nothing is old enough yet
            long_ago = timezone.now() - timedelta(hours=1)
            TicketPush.objects.update(updated_at=long_ago)
            assert writeback.sweep() == ([(lost.pk, 1)], 1)
            stuck.refresh_from_db()
            assert stuck.state == PushState.FAILED and "never confirmed" in stuck.error  # Retry is offered
            # The resent task sends the lost push; the sweep never sent the unconfirmed one.
            with pytest.raises(writeback.RetryPush):
                writeback.push(lost.pk, 1)  # Zendesk asks to wait an hour ...
            assert writeback.push(lost.pk, 1) == "sent"  # ... and the retry lands
        server.check()
