"""The Gaby panel on a ticket's page: it leads to the investigation, starts one, says the verdict in plain words,
links the changes that wait for approval, and sends the drafted reply."""

from __future__ import annotations

import re
from typing import Any

import pytest

from apps.accounts.models import Membership, Role
from apps.agent.models import Investigation, InvestigationStatus, InvestigationStep
from apps.connectors.models import Connector
from apps.safety.models import ActionStatus, ToolAction
from apps.tickets.models import Message, MessageKind


@pytest.fixture
def ticket(make_ticket: Any) -> Any:
    return make_ticket(title="Refund my last invoice", body="Please refund invoice 1042, it was charged twice.")


def _page(client: Any, ticket: Any) -> str:
    response = client.get(f"/inbox/t/{ticket.pk}/")
    assert response.status_code == 200
    return str(response.content.decode())


def test_a_ticket_gaby_has_not_seen_offers_to_investigate_and_starts_it(as_user: Any, ticket: Any) -> None:
    bob = as_user("bob", "hartwell")
    page = _page(bob, ticket)
    assert 'data-testid="gaby-none"' in page and 'data-testid="gaby-investigate"' in page
    response = bob.post(f"/investigations/ticket/{ticket.pk}/start/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and response["Gaby-Partial"]
    shown = response.content.decode()
    assert 'data-testid="gaby-running"' in shown and 'hx-trigger="every 2s"' in shown  # polls itself while running
    started = Investigation.objects.get(ticket=ticket)
    assert (started.triggered_by, started.status) == ("user", InvestigationStatus.QUEUED)
    # Pressing again joins the run instead of starting a second one.
    bob.post(f"/investigations/ticket/{ticket.pk}/start/", HTTP_HX_REQUEST="true")
    assert Investigation.objects.filter(ticket=ticket).count() == 1
    # Without htmx the button leads to the timeline.
    plain = bob.post(f"/investigations/ticket/{ticket.pk}/start/")
    assert plain.status_code == 302 and plain["Location"] == f"/investigations/{started.pk}/"


def test_a_finished_run_says_what_happened_and_links_its_waiting_approval(as_user: Any, ticket: Any) -> None:
    investigation = Investigation.objects.create(
        ticket=ticket,
        status=InvestigationStatus.DONE,
        verdict="needs_l2",
        escalation_reason="Stripe.refund awaits approval: Playbook refund proposes this step: a human decides.",
    )
    connector = Connector.objects.create(name="Stripe", kind="stripe")
    held = ToolAction.objects.create(
        idempotency_key="panel-1",
        connector=connector,
        tool_name="refund",
        access="write",
        actor_kind="agent",
        outcome="needs_approval",
        status=ActionStatus.AWAITING_APPROVAL,
    )
    InvestigationStep.objects.create(
        investigation=investigation, ordinal=1, kind="action", system="Stripe", title="Stripe: refund", action=held
    )
    page = _page(as_user("bob", "hartwell"), ticket)
    assert 'data-verdict="needs_l2"' in page and "Needs L2 support" in page
    assert "Gaby stopped and handed this to the team" in page
    assert "Stripe.refund awaits approval" in page
    assert f'href="/approvals/#action-{held.pk}"' in page and "1 proposed change waits for approval" in page
    assert f'href="/investigations/{investigation.pk}/"' in page
    assert "Investigate again" in page


def test_use_this_reply_sends_the_edited_draft_once(as_user: Any, ticket: Any) -> None:
    investigation = Investigation.objects.create(
        ticket=ticket,
        status=InvestigationStatus.DONE,
        verdict="auto_resolved",
        reply="Your refund is on its way.",
        reply_state="drafted",
    )
    bob = as_user("bob", "hartwell")
    page = _page(bob, ticket)
    assert 'data-testid="gaby-use-reply"' in page and "Your refund is on its way." in page
    response = bob.post(
        f"/investigations/{investigation.pk}/use-reply/", {"reply": "Refunded: 3-5 days."}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 204 and response["HX-Redirect"] == f"/inbox/t/{ticket.pk}/"
    sent = Message.objects.filter(ticket=ticket, kind=MessageKind.PUBLIC_REPLY, direction="outbound")
    assert [m.body for m in sent] == ["Refunded: 3-5 days."]
    again = bob.post(f"/investigations/{investigation.pk}/use-reply/", {"reply": "twice"}, HTTP_HX_REQUEST="true")
    assert (
        again.status_code == 409
        and again["Gaby-Partial"]
        and 'data-testid="gaby-panel-error"' in again.content.decode()
    )
    assert sent.count() == 1


def test_viewers_see_the_panel_without_buttons_and_other_clients_get_nothing(
    as_user: Any, ticket: Any, hartwell: Any, people: dict[str, Any]
) -> None:
    Investigation.objects.create(
        ticket=ticket, status=InvestigationStatus.DONE, verdict="auto_resolved", reply="Done.", reply_state="drafted"
    )
    Membership.objects.filter(user=people["bob"], client=hartwell).update(role=Role.VIEWER)
    viewer = as_user("bob", "hartwell")
    page = _page(viewer, ticket)
    assert 'data-testid="gaby-verdict"' in page
    assert 'data-testid="gaby-use-reply"' not in page and 'data-testid="gaby-investigate"' not in page
    assert viewer.post(f"/investigations/ticket/{ticket.pk}/start/").status_code == 403
    dearborn = as_user("carol", "dearborn")
    assert dearborn.get(f"/investigations/ticket/{ticket.pk}/panel/").status_code == 404
    assert dearborn.post(f"/investigations/ticket/{ticket.pk}/start/").status_code == 404


def test_the_inbox_shows_what_gaby_concluded_and_filters_by_it(as_user: Any, make_ticket: Any) -> None:
    resolved = make_ticket(title="Resolved one", external_id="T-1")
    escalated = make_ticket(title="Escalated one", external_id="T-2")
    running = make_ticket(title="Running one", external_id="T-3")
    make_ticket(title="Untouched one", external_id="T-4")
    Investigation.objects.all().delete()  # whatever auto-investigation queued: the test sets each state itself
    Investigation.objects.create(ticket=resolved, status=InvestigationStatus.DONE, verdict="auto_resolved")
    Investigation.objects.create(ticket=escalated, status=InvestigationStatus.DONE, verdict="auto_resolved")
    Investigation.objects.create(ticket=escalated, status=InvestigationStatus.DONE, verdict="needs_l2")  # latest
    Investigation.objects.create(ticket=running, status=InvestigationStatus.RUNNING)
    bob = as_user("bob", "hartwell")

    def titles(query: str) -> set[str]:
        body = bob.get(f"/inbox/?status=&{query}").content.decode()
        return {t for t in ("Resolved one", "Escalated one", "Running one", "Untouched one") if f">{t}</a>" in body}

    page = bob.get("/inbox/?status=").content.decode()
    assert '<th scope="col">Gaby</th>' in page and 'data-testid="filter-gaby"' in page
    cells = {}
    for row in re.findall(r'<tr id="ticket-.*?</tr>', page, re.S):
        title = re.search(r'data-testid="ticket-link">([^<]+)</a>', row)
        verdict = re.search(r'data-testid="gaby-cell"(?: data-verdict="([a-z0-9_]*)")?', row)
        assert title and verdict
        cells[title.group(1)] = verdict.group(1) or ""
    assert cells == {
        "Resolved one": "auto_resolved",
        "Escalated one": "needs_l2",
        "Running one": "investigating",
        "Untouched one": "",
    }
    assert titles("gaby=needs_l2") == {"Escalated one"}
    assert titles("gaby=auto_resolved") == {"Resolved one"}  # the escalated ticket's older verdict does not count
    assert titles("gaby=investigating") == {"Running one"}
    assert titles("gaby=none") == {"Untouched one"}
    assert titles("gaby=bogus") == {"Resolved one", "Escalated one", "Running one", "Untouched one"}
    assert 'data-testid="clear-filters"' in bob.get("/inbox/?gaby=none").content.decode()


def test_gabys_long_notes_fold_under_their_headline_on_the_ticket(as_user: Any, ticket: Any) -> None:
    from apps.tickets import services as tickets

    tickets.reply(
        ticket=ticket,
        body="Gaby escalated this ticket: Needs L2 support.\n\nWhy: the refund waits for approval.\n\nTimeline:\n1. …",
        kind=MessageKind.INTERNAL_NOTE,
        author="Gaby",
    )
    page = _page(as_user("bob", "hartwell"), ticket)
    headline, folded = page.split('data-testid="message-more"')
    assert "Gaby escalated this ticket: Needs L2 support." in headline.rsplit('data-testid="message-body"', 1)[1]
    assert "Why: the refund waits for approval." in folded.split("</details>")[0]
