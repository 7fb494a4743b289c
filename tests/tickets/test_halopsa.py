"""HaloPSA through the real path: the stand-in over HTTP → poll → tickets in each mapped client's schema → writes."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django_tenants.utils import tenant_context

from apps.tickets import delivery, polling, services, writeback
from apps.tickets.halopsa_mapping import LINK
from apps.tickets.models import DeliveryState, Message, QuarantinedPayload, Ticket, TicketPush, TicketSource
from apps.tickets.psa_mapping import MappingError, connect_clients
from apps.tickets.sources.base import SourceError
from apps.tickets.sources.halopsa.adapter import HaloPSAAdapter
from sandbox.halopsa import HaloPSASandbox

pytestmark = pytest.mark.django_db


@pytest.fixture
def halo() -> Iterator[HaloPSASandbox]:
    with HaloPSASandbox() as sandbox:
        yield sandbox


def connection(halo: HaloPSASandbox, **extra: Any) -> dict[str, Any]:
    return {
        "base_url": halo.base_url,
        "tenant": "northwind",
        "client_id": "gaby-api",
        "client_secret": "halo-client-secret",
        **extra,
    }


def halo_source(make_source: Any, halo: HaloPSASandbox, halo_client_id: int = 12, **extra: Any) -> TicketSource:
    config = connection(halo, halo_client_id=str(halo_client_id), webhook_secret="w" * 20, backfill_days=3650)
    return make_source(**{"kind": "halopsa", "name": "HaloPSA", **config, **extra})


def test_one_connection_feeds_each_mapped_client_only_its_own_company(
    halo: HaloPSASandbox, hartwell: Any, dearborn: Any
) -> None:
    made = connect_clients(LINK, connection=connection(halo), mapping={12: hartwell, 13: dearborn})
    assert [(m.company_id, m.client.slug, m.company_name) for m in made] == [
        (12, "hartwell", "Hartwell Dental"),
        (13, "dearborn", "Dearborn Law"),
    ]
    for item in made:
        with tenant_context(item.client):
            config = services.source_config(client=item.client, source=item.source)
            # The seed is thirty days old at most on a real clock; read all of it.
            services.update_source_config(
                client=item.client, source=item.source, config={**config, "backfill_days": 3650}
            )
            assert polling.poll(item.source.pk).status == "ok"
    assert halo.tokens_issued == 1  # one API application, one token for every client's source
    with tenant_context(hartwell):
        assert sorted(Ticket.objects.values_list("external_id", flat=True)) == ["3001", "3002"]
        payslips = Ticket.objects.get(external_id="3001")
        assert (payslips.status, payslips.priority) == ("new", "high")
        assert payslips.contact is not None
        assert (payslips.contact.email, payslips.contact.external_id) == ("nora@hartwell.example", "101")
        thread = [(m.external_id, m.direction, m.kind) for m in payslips.messages.order_by("created_at")]
        assert thread == [("ticket-3001", "inbound", "public_reply"), ("action-9001", "outbound", "public_reply")]
        server = Ticket.objects.get(external_id="3002")
        assert (server.status, server.priority) == ("open", "urgent")
        assert server.messages.get(external_id="action-9002").kind == "internal_note"
    with tenant_context(dearborn):
        assert list(Ticket.objects.values_list("external_id", flat=True)) == ["4001"]
    # Halo sends every list filtered by the source's company; Ashby Bakery (14) is mapped to nobody.
    listed = {tuple(call.query["client_id"]) for call in halo.calls("GET", "/api/Tickets")}
    assert listed == {("12",), ("13",)}

    with pytest.raises(MappingError, match="already receives Halo client 12"):
        connect_clients(LINK, connection=connection(halo), mapping={12: hartwell})
    with pytest.raises(MappingError, match=r"no client with id \[99\].*12 Hartwell Dental"):
        connect_clients(LINK, connection=connection(halo), mapping={99: hartwell})


def test_incremental_pull_pages_and_picks_up_a_new_action(
    make_source: Any, hartwell: Any, halo: HaloPSASandbox
) -> None:
    source = halo_source(make_source, halo, page_size=1)
    with tenant_context(hartwell):
        first = polling.poll(source.pk)
        assert (first.status, first.created) == ("ok", 2)
        pages = [call.query["page_no"] for call in halo.calls("GET", "/api/Tickets")]
        assert pages == [["1"], ["2"]]
        cursor = TicketSource.objects.get(pk=source.pk).cursor
        assert cursor == {"since": "2026-11-16T10:30:00Z"}  # the last update seen: the next pull starts there

        halo.add_action(3001, "It is the LaserJet M404 on the second floor.")
        TicketSource.objects.filter(pk=source.pk).update(next_poll_at=None)
        again = polling.poll(source.pk)
        assert (again.status, again.created, again.updated, again.new_messages) == ("ok", 0, 1, 1)
        latest = Ticket.objects.get(external_id="3001").messages.order_by("-created_at").first()
        assert latest is not None
        assert (latest.direction, latest.body) == ("inbound", "It is the LaserJet M404 on the second floor.")
        assert halo.calls("GET", "/api/Tickets")[-1].query["startdate"] == ["2026-11-16T10:30:00Z"]


def test_a_ticket_that_cannot_be_read_is_quarantined_with_its_error(
    make_source: Any, hartwell: Any, halo: HaloPSASandbox
) -> None:
    halo.tickets[3002]["priority_id"] = 7  # an id no Halo default has
    source = halo_source(make_source, halo)
    with tenant_context(hartwell):
        result = polling.poll(source.pk)
        assert (result.status, result.created, result.quarantined) == ("ok", 1, 1)
        kept = QuarantinedPayload.objects.get(source=source)
        assert "unknown priority_id 7" in kept.error and json.loads(kept.raw)["id"] == 3002


def test_halo_s_rate_limit_is_waited_out_through_the_seam(
    make_source: Any, hartwell: Any, halo: HaloPSASandbox
) -> None:
    halo.rate_limit = (4, 1.0)  # four API requests a second: the poll needs five
    source = halo_source(make_source, halo)
    with tenant_context(hartwell):
        result = polling.poll(source.pk)
        assert (result.status, result.created) == ("ok", 2), result
    throttled = [call for call in halo.requests if call.status == 429]
    assert throttled and all(call.path.startswith("/api/") for call in throttled)


def test_tokens_are_minted_again_when_halo_expires_them_and_bad_credentials_say_so(
    make_source: Any, hartwell: Any, halo: HaloPSASandbox
) -> None:
    source = halo_source(make_source, halo, auth_url=f"{halo.base_url}/auth")  # named explicitly, as on Halo's page
    with tenant_context(hartwell):
        assert polling.poll(source.pk).status == "ok"
        halo.expire_tokens()
        TicketSource.objects.filter(pk=source.pk).update(next_poll_at=None)
        assert polling.poll(source.pk).status == "ok"
        assert halo.tokens_issued == 2
    wrong = halo_source(make_source, halo, name="Wrong", client_secret="nope")
    with tenant_context(hartwell):
        result = polling.poll(wrong.pk)
        assert result.status == "failed"
        assert "refused the API application's credentials" in TicketSource.objects.get(pk=wrong.pk).last_error


def test_reply_and_note_are_written_once_even_when_the_answer_is_lost(
    make_source: Any, hartwell: Any, halo: HaloPSASandbox, people: Any
) -> None:
    source = halo_source(make_source, halo)
    with tenant_context(hartwell):
        polling.poll(source.pk)
        ticket = Ticket.objects.get(external_id="3001")
        reply = services.reply(
            ticket=ticket, body="Please try the PCL6 driver.", kind="public_reply", author=people["bob"]
        )
        halo.lose_next_answer("POST", "/api/Actions")  # Halo writes it, the gateway answers 504
        with pytest.raises(delivery.RetryDelivery):
            delivery.deliver(reply.pk)
        assert Message.objects.get(pk=reply.pk).delivery_state == DeliveryState.QUEUED
        assert delivery.deliver(reply.pk) == "sent"  # the retry finds the action instead of writing it again
        assert delivery.deliver(reply.pk) == "not-queued"
        written = [a for a in halo.ticket_actions(3001) if a["note"] == "Please try the PCL6 driver."]
        assert len(written) == 1 and written[0]["hiddenfromuser"] is False and written[0]["sendemail"] is True
        assert Message.objects.get(pk=reply.pk).external_id == f"action-{written[0]['id']}"

        note = services.reply(
            ticket=ticket, body="Driver 7.1 is known bad.", kind="internal_note", author=people["bob"]
        )
        halo.fail_next(429, path="/api/Actions", method="POST", headers={"Retry-After": "7"})
        with pytest.raises(delivery.RetryDelivery, match="retry after 7s"):
            delivery.deliver(note.pk)
        assert delivery.deliver(note.pk) == "sent"
        notes = [a for a in halo.ticket_actions(3001) if a["note"] == "Driver 7.1 is known bad."]
        assert len(notes) == 1 and notes[0]["hiddenfromuser"] is True and notes[0]["outcome"] == "Private Note"
        # Polling back what Gaby wrote adds no duplicate: the delivered message carries Halo's action id.
        TicketSource.objects.filter(pk=source.pk).update(next_poll_at=None)
        assert polling.poll(source.pk).new_messages == 0


def test_status_priority_and_assignee_are_pushed_and_time_is_an_action_with_hours(
    make_source: Any, hartwell: Any, halo: HaloPSASandbox, people: Any
) -> None:
    source = halo_source(make_source, halo)
    with tenant_context(hartwell):
        polling.poll(source.pk)
        ticket = Ticket.objects.get(external_id="3001")
        services.change_status(ticket=ticket, status="solved", actor=people["bob"])
        services.change_priority(ticket=ticket, priority="low", actor=people["bob"])
        rows = TicketPush.objects.filter(ticket=ticket).order_by("field")
        assert [writeback.push(row.pk, row.version) for row in rows] == ["sent", "sent"]
    assert halo.writes == [{"id": 3001, "priority_id": 4}, {"id": 3001, "status_id": 9}]
    adapter = HaloPSAAdapter(source_id=str(source.pk), config=connection(halo, halo_client_id="12"))
    adapter.assign("3001", "Priya@northwind-msp.example")
    assert halo.tickets[3001]["agent_id"] == 5
    with pytest.raises(SourceError, match="no agent with the email"):
        adapter.assign("3001", "nobody@example.com")
    adapter.log_time_entry("3001", minutes=45, note="Driver swap", billable=True)
    adapter.log_time_entry("3001", minutes=6, note="Follow-up call", billable=False)
    timed = [a for a in halo.ticket_actions(3001) if a.get("timetaken")]
    assert [(a["timetaken"], a["timetakenadjusted"], a["nonbilltime"], a["hiddenfromuser"]) for a in timed] == [
        (0.75, 0.75, 0, True),
        (0.1, 0, 0.1, True),
    ]


def _basic(secret: str) -> str:
    return "Basic " + base64.b64encode(f"halo:{secret}".encode()).decode()


def test_webhooks_are_checked_read_again_and_kept_to_the_mapped_company(
    make_source: Any, hartwell: Any, halo: HaloPSASandbox, as_user: Any
) -> None:
    source = halo_source(make_source, halo)
    web = as_user(None, "hartwell")
    url = f"/api/v1/sources/{source.pk}/webhook/halopsa"
    body = json.dumps(halo.webhook_body(3002))
    wrong = web.post(url, body, content_type="application/json", HTTP_AUTHORIZATION=_basic("x" * 20))
    assert wrong.status_code == 401
    elsewhere = as_user(None, "dearborn").post(
        url, body, content_type="application/json", HTTP_AUTHORIZATION=_basic("w" * 20)
    )
    assert elsewhere.status_code == 404  # Hartwell's source does not exist on Dearborn's domain
    missing = web.post(url, body, content_type="application/json")
    assert missing.status_code == 401 and "Basic" in missing.json()["detail"]
    ok = web.post(url, body, content_type="application/json", HTTP_AUTHORIZATION=_basic("w" * 20))
    assert ok.status_code == 200 and ok.json()["created"] is True
    assert halo.calls("GET", "/api/Tickets/3002")  # read again from Halo, not taken from the body
    other = json.dumps(halo.webhook_body(4001))  # Dearborn Law's ticket sent to Hartwell's source
    ignored = web.post(url, other, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {'w' * 20}")
    assert ignored.status_code == 202 and "Halo client 13" in ignored.json()["detail"]
    bad = web.post(
        url, '{"event": "Ticket Updated"}', content_type="application/json", HTTP_AUTHORIZATION=_basic("w" * 20)
    )
    assert bad.status_code == 400 and bad.json()["field"] == "ticket.id"
    action_id = halo.add_action(3001, "Still blank after the driver change.")
    by_action = {"action": halo.webhook_body(3001, action_id)["action"]}  # an action event names its ticket
    answered = web.post(
        url, json.dumps(by_action), content_type="application/json", HTTP_AUTHORIZATION=_basic("w" * 20)
    )
    assert answered.status_code == 200 and answered.json()["created"] is True
    batched = web.post(
        url, json.dumps([by_action]), content_type="application/json", HTTP_AUTHORIZATION=_basic("w" * 20)
    )
    assert batched.status_code == 400 and "batching to None" in batched.json()["detail"]
    with tenant_context(hartwell):
        assert sorted(Ticket.objects.values_list("external_id", flat=True)) == ["3001", "3002"]
        kept = QuarantinedPayload.objects.order_by("received_at").first()
        assert kept is not None and "must carry the 'ticket' object" in kept.error and "Ticket Updated" in kept.raw
        assert QuarantinedPayload.objects.filter(source=source).count() == 2  # the batched delivery is kept too


def test_the_connect_form_builds_the_configuration(as_user: Any, hartwell: Any) -> None:
    fields = {
        "name": "HaloPSA",
        "poll_interval_seconds": "120",
        "base_url": "https://northwind.halopsa.com/api/",
        "auth_url": "https://auth.northwind.example/auth/token",
        "tenant": "northwind",
        "client_id": "gaby-api",
        "client_secret": "s",
        "halo_client_id": "12",
        "webhook_secret": "0123456789abcdef",
    }
    response = as_user("alice", "hartwell").post("/inbox/sources/connect/halopsa/", fields)
    assert response.status_code == 302, response.content.decode()[:2000]
    with tenant_context(hartwell):
        source = TicketSource.objects.get(kind="halopsa")
        assert services.source_config(client=hartwell, source=source) == {
            "base_url": "https://northwind.halopsa.com",
            "auth_url": "https://auth.northwind.example/auth",
            "tenant": "northwind",
            "client_id": "gaby-api",
            "client_secret": "s",
            "halo_client_id": "12",
            "webhook_secret": "0123456789abcdef",
        }
    refused = as_user("alice", "hartwell").post(
        "/inbox/sources/connect/halopsa/", {**fields, "base_url": "http://halo.example", "halo_client_id": "0"}
    )
    html = refused.content.decode()
    assert refused.status_code == 400 and "https:// address" in html and "positive number" in html


def test_the_cli_lists_halo_clients_and_maps_them_in_one_step(
    halo: HaloPSASandbox, hartwell: Any, dearborn: Any
) -> None:
    config = json.dumps(connection(halo))
    out = StringIO()
    call_command("gaby", "connect-halopsa", "--config", config, "--list", stdout=out)
    assert out.getvalue().splitlines() == ["12\tHartwell Dental", "13\tDearborn Law", "14\tAshby Bakery"]
    out = StringIO()
    call_command(
        "gaby", "connect-halopsa", "--config", config, "--map", "12=hartwell", "--map", "13=dearborn", stdout=out
    )
    text = out.getvalue()
    assert "Halo client 12 (Hartwell Dental) → " in text and "/webhook/halopsa" in text
    for client in (hartwell, dearborn):
        with tenant_context(client):
            assert TicketSource.objects.filter(kind="halopsa").count() == 1
    with pytest.raises(CommandError, match="mapped twice"):
        call_command("gaby", "connect-halopsa", "--config", config, "--map", "14=hartwell", "--map", "14=dearborn")
    with pytest.raises(CommandError, match="no Gaby client with slug 'nope'"):
        call_command("gaby", "connect-halopsa", "--config", config, "--map", "14=nope")
