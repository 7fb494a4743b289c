"""Operators' time (the ticket page's clock → reply), the billing rules page and the ticket's Time panel."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.urls import reverse
from django_tenants.utils import tenant_context

from apps.billing import clock, writeback
from apps.billing.models import BillingRule, TimeRecord, Worker, WorkKind, WriteState
from apps.tickets.models import Ticket
from sandbox.halopsa import HaloPSASandbox

pytestmark = pytest.mark.django_db


def ticket_3001(hartwell: Any) -> Ticket:
    with tenant_context(hartwell):
        return Ticket.objects.get(external_id="3001")


def test_an_operator_reply_is_timed_from_opening_the_ticket_page(
    hartwell: Any, halo: HaloPSASandbox, halo_source: Any, rule: Any, as_user: Any, people: Any
) -> None:
    ticket, bob = ticket_3001(hartwell), people["bob"]
    browser = as_user("bob", "hartwell")
    page = browser.get(reverse("tickets:detail", args=[ticket.pk]))
    assert page.status_code == 200 and b'data-testid="time-panel"' in page.content
    with tenant_context(hartwell):
        started = clock.stop(ticket.pk, bob.pk)  # the page started bob's clock on this ticket
        assert started is not None and time.time() - started[0] < 60
        clock.start(ticket.pk, bob.pk, now=time.time() - 7 * 60)  # as if bob had opened it seven minutes ago
    browser.get(reverse("tickets:detail", args=[ticket.pk]))  # reloading does not restart the clock
    sent = browser.post(
        reverse("tickets:reply", args=[ticket.pk]), {"body": "Reinstalled the driver.", "kind": "internal_note"}
    )
    assert sent.status_code in (200, 302)
    with tenant_context(hartwell):
        record = TimeRecord.objects.get(ticket=ticket)
        assert (record.kind, record.worker, record.user_id) == (WorkKind.NOTE, Worker.OPERATOR, bob.pk)
        assert 7 * 60 <= record.seconds < 8 * 60
        assert (record.billed_minutes, record.state, record.member_id) == (12, WriteState.QUEUED, "")
        assert writeback.write(record.pk) == "written"
    # A reply through the API (no page, no clock) is recorded with no time, never an invented one.
    with tenant_context(hartwell):
        from apps.tickets import services

        message = services.reply(ticket=ticket, body="Any luck?", kind="public_reply", author=bob)
        unmeasured = TimeRecord.objects.get(message=message)
        assert (unmeasured.seconds, unmeasured.state) == (0, WriteState.NOT_BILLED)
        assert unmeasured.reason == "No working time was measured."
    panel = browser.get(reverse("billing:ticket_time", args=[ticket.pk]))
    text = panel.content.decode()
    assert 'data-testid="time-billed">12 min' in text and "Written to the PSA" in text
    assert "No working time was measured." in text
    timed = [a for a in halo.ticket_actions(3001) if a.get("timetaken")]
    assert [a["timetaken"] for a in timed] == [0.2]


def test_the_panel_shows_a_failure_and_an_agent_writes_it_again(
    hartwell: Any, halo: HaloPSASandbox, halo_source: Any, rule: Any, as_user: Any
) -> None:
    ticket = ticket_3001(hartwell)
    with tenant_context(hartwell):
        BillingRule.objects.filter(pk=rule.pk).update(member_id="99")
        from apps.agent import engine
        from apps.agent.investigations import start_investigation

        investigation = start_investigation(ticket=ticket, queue=False)
        engine.execute(investigation.pk)
        record = TimeRecord.objects.get(investigation=investigation)
        assert writeback.write(record.pk) == "failed"
        TimeRecord.objects.filter(pk=record.pk).update(member_id="1")  # the admin fixed Gaby's agent id
    viewer = as_user("bob", "hartwell").get(reverse("tickets:detail", args=[ticket.pk])).content.decode()
    assert "HaloPSA refused the time entry" in viewer and 'data-testid="time-write-again"' in viewer
    url = reverse("billing:decide_time", args=[ticket.pk, record.pk])
    assert as_user("bob", "hartwell").post(url, {"action": "bogus"}).status_code == 400
    assert as_user("carol", "dearborn").post(url, {"action": "write_again"}).status_code in (403, 404)
    answer = as_user("bob", "hartwell").post(url, {"action": "write_again"}, HTTP_HX_REQUEST="true")
    assert answer.status_code == 200 and "Waiting to be written" in answer.content.decode()
    with tenant_context(hartwell):
        assert writeback.write(record.pk) == "written"
    assert len([a for a in halo.ticket_actions(3001) if a.get("timetaken")]) == 1


def test_the_rules_page_saves_a_rule_and_says_what_to_fix(hartwell: Any, halo_source: Any, as_user: Any) -> None:
    admin, agent = as_user("alice", "hartwell"), as_user("bob", "hartwell")
    page = admin.get(reverse("billing:rules"))
    assert page.status_code == 200
    text = page.content.decode()
    assert 'data-testid="rule-default-form"' in text and f'data-testid="rule-{halo_source.pk}"' in text
    assert 'data-testid="rule-default-form"' not in agent.get(reverse("billing:rules")).content.decode()
    good = {
        "source": "",
        "billable": "on",
        "bill_gaby": "on",
        "bill_operators": "on",
        "minimum_minutes": "2",
        "rounding_minutes": "15",
        "work_type": "3",
        "role": "L1",
        "agreement_id": "77",
        "member_id": "1",
        "note_template": "{{ worker }}: {{ kind }} ({{ billed_minutes }} min)",
    }
    assert agent.post(reverse("billing:save_rule"), good).status_code == 403
    bad = {
        **good,
        "minimum_minutes": "600",
        "rounding_minutes": "7",
        "agreement_id": "Gold contract",
        "note_template": "{{ worker ",
    }
    refused = admin.post(reverse("billing:save_rule"), bad, HTTP_HX_REQUEST="true")
    assert refused.status_code == 400
    errors = refused.content.decode()
    assert "at most 480 minutes" in errors
    assert "Select a valid choice" in errors
    assert "HaloPSA ids are whole numbers" in errors
    assert "The note template does not work" in errors
    saved = admin.post(reverse("billing:save_rule"), good, HTTP_HX_REQUEST="true")
    assert saved.status_code == 200 and 'data-testid="rule-default-saved"' in saved.content.decode()
    own = admin.post(reverse("billing:save_rule"), {**good, "source": str(halo_source.pk), "billable": ""})
    assert own.status_code == 200
    with tenant_context(hartwell):
        default = BillingRule.objects.get(source__isnull=True)
        assert (default.minimum_minutes, default.rounding_minutes, default.agreement_id) == (2, 15, "77")
        assert BillingRule.objects.get(source=halo_source).billable is False
        from apps.auditlog.models import AuditEvent

        assert AuditEvent.objects.filter(event="billing.rule_saved").count() == 2
    assert as_user("carol", "dearborn").get(reverse("billing:rules")).status_code == 200  # Dearborn's own rules
    with tenant_context(hartwell):
        assert BillingRule.objects.count() == 2
