"""ConnectWise PSA through the real path: the stand-in over HTTP → poll → tickets in each mapped client → writes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from io import StringIO
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client as DjangoClient
from django_tenants.utils import tenant_context

from apps.tickets import delivery, polling, services, writeback
from apps.tickets.connectwise_mapping import LINK
from apps.tickets.models import DeliveryState, Message, QuarantinedPayload, Ticket, TicketPush, TicketSource
from apps.tickets.psa_mapping import MappingError, connect_clients
from apps.tickets.sources.base import SourceError
from apps.tickets.sources.connectwise.adapter import ConnectWiseAdapter
from sandbox.connectwise import API, ConnectWiseSandbox

pytestmark = pytest.mark.django_db

CLIENT_ID = "6a1f5b7e-3c0d-4f59-9d8e-1b2c3d4e5f60"
SECRET = "c" * 24


@pytest.fixture
def cw() -> Iterator[ConnectWiseSandbox]:
    with ConnectWiseSandbox() as sandbox:
        yield sandbox


def connection(cw: ConnectWiseSandbox, **extra: Any) -> dict[str, Any]:
    return {
        "site_url": cw.base_url,
        "company_id": "northwind",
        "public_key": "pubkey-gaby",
        "private_key": "privkey-gaby",
        "client_id": CLIENT_ID,
        **extra,
    }


def cw_source(make_source: Any, cw: ConnectWiseSandbox, company: int = 250, **extra: Any) -> TicketSource:
    config = connection(cw, cw_company_id=str(company), callback_secret=SECRET, backfill_days=3650)
    return make_source(**{"kind": "connectwise", "name": "ConnectWise", **config, **extra})


def _through_django(url: str, body: bytes, headers: dict[str, str]) -> int:
    """The stand-in's callback POST, delivered to Gaby's own endpoint through Django's test client."""
    parts = urlsplit(url)
    web = DjangoClient(HTTP_HOST=parts.netloc)
    return int(web.post(parts.path, body, content_type=headers["Content-Type"]).status_code)


def _ticket_lists(cw: ConnectWiseSandbox) -> list[Any]:
    return [call for call in cw.calls("GET", f"{API}/service/tickets") if call.path == f"{API}/service/tickets"]


def test_one_connection_feeds_each_mapped_client_only_its_own_company(
    cw: ConnectWiseSandbox, hartwell: Any, dearborn: Any
) -> None:
    made = connect_clients(LINK, connection=connection(cw), mapping={250: hartwell, 251: dearborn})
    assert [(m.company_id, m.client.slug, m.company_name) for m in made] == [
        (250, "hartwell", "Hartwell Dental"),
        (251, "dearborn", "Dearborn Law"),
    ]
    for item in made:
        with tenant_context(item.client):
            config = services.source_config(client=item.client, source=item.source)
            assert config["callback_secret"] == item.secret and config["cw_company_id"] == str(item.company_id)
            services.update_source_config(
                client=item.client, source=item.source, config={**config, "backfill_days": 3650}
            )
            assert polling.poll(item.source.pk).status == "ok"
    with tenant_context(hartwell):
        assert sorted(Ticket.objects.values_list("external_id", flat=True)) == ["5101", "5102"]
        payslips = Ticket.objects.get(external_id="5101")
        assert (payslips.title, payslips.status, payslips.priority) == ("Payslips print blank", "new", "high")
        assert payslips.contact is not None
        assert (payslips.contact.email, payslips.contact.external_id) == ("nora@hartwell.example", "601")
        thread = [(m.external_id, m.direction, m.kind) for m in payslips.messages.order_by("created_at")]
        assert thread == [("note-80001", "inbound", "public_reply"), ("note-80002", "outbound", "public_reply")]
        server = Ticket.objects.get(external_id="5102")
        assert (server.status, server.priority) == ("open", "urgent")
        assert server.messages.get(external_id="note-80004").kind == "internal_note"
    with tenant_context(dearborn):
        assert list(Ticket.objects.values_list("external_id", flat=True)) == ["6101"]
    # Every list is asked for the source's company only; Ashby Bakery (252) is mapped to nobody.
    asked = {call.query["conditions"][0].split(" and ")[0] for call in _ticket_lists(cw)}
    assert asked == {"company/id = 250", "company/id = 251"}
    # Every call carried the API member's Basic credentials and the clientId.
    assert all(call.headers.get("clientid") == CLIENT_ID for call in cw.requests)

    with pytest.raises(MappingError, match="already receives ConnectWise company 250"):
        connect_clients(LINK, connection=connection(cw), mapping={250: hartwell})
    with pytest.raises(MappingError, match=r"no company with id \[99\].*250 Hartwell Dental"):
        connect_clients(LINK, connection=connection(cw), mapping={99: hartwell})
    with pytest.raises(MappingError, match="needs client_id"):
        connect_clients(LINK, connection={**connection(cw), "client_id": ""}, mapping={252: hartwell})


def test_incremental_pull_pages_by_keyset_and_picks_up_a_new_note(
    make_source: Any, hartwell: Any, cw: ConnectWiseSandbox
) -> None:
    source = cw_source(make_source, cw, page_size=1)
    with tenant_context(hartwell):
        first = polling.poll(source.pk)
        assert (first.status, first.created) == ("ok", 2)
        asked = [call.query["pageSize"] for call in _ticket_lists(cw)]
        assert asked == [["1"], ["1"]]  # one ticket a page, the second page asked after the first's last ticket
        cursor = TicketSource.objects.get(pk=source.pk).cursor
        assert cursor == {"since": "2026-11-16T10:30:00Z", "after_id": 5102}

        cw.add_note(5101, "It is the LaserJet M404 on the second floor.")
        TicketSource.objects.filter(pk=source.pk).update(next_poll_at=None)
        again = polling.poll(source.pk)
        assert (again.status, again.created, again.updated, again.new_messages) == ("ok", 0, 1, 1)
        latest = Ticket.objects.get(external_id="5101").messages.order_by("-created_at").first()
        assert latest is not None
        assert (latest.direction, latest.body) == ("inbound", "It is the LaserJet M404 on the second floor.")
        assert "lastUpdated > [2026-11-16T10:30:00Z]" in _ticket_lists(cw)[-1].query["conditions"][0]


def test_a_ticket_that_cannot_be_read_is_quarantined_with_its_error(
    make_source: Any, hartwell: Any, cw: ConnectWiseSandbox
) -> None:
    cw.priorities[0]["name"] = "Emergency"  # the site renamed its top priority: ticket 5102 has it
    source = cw_source(make_source, cw)
    with tenant_context(hartwell):
        result = polling.poll(source.pk)
        assert (result.status, result.created, result.quarantined) == ("ok", 1, 1)
        kept = QuarantinedPayload.objects.get(source=source)
        assert "unknown priority 'Emergency'" in kept.error and "'priorities' setting" in kept.error
        assert json.loads(kept.raw)["id"] == 5102


def test_rate_limits_and_refused_credentials_say_what_happened(
    make_source: Any, hartwell: Any, cw: ConnectWiseSandbox
) -> None:
    cw.throttle.limit = (3, 1.0)  # three API requests a second: the poll needs more
    source = cw_source(make_source, cw)
    with tenant_context(hartwell):
        result = polling.poll(source.pk)
        assert (result.status, result.created) == ("ok", 2), result
    assert [call for call in cw.requests if call.status == 429]
    cw.throttle.limit = None
    wrong = cw_source(make_source, cw, name="Wrong keys", private_key="nope")
    no_client = cw_source(make_source, cw, name="No clientId", client_id="00000000-0000-0000-0000-000000000000")
    with tenant_context(hartwell):
        assert polling.poll(wrong.pk).status == "failed"
        error = TicketSource.objects.get(pk=wrong.pk).last_error
        assert "refused the API member's keys" in error and "Authentication failed" in error
        assert polling.poll(no_client.pk).status == "failed"
        error = TicketSource.objects.get(pk=no_client.pk).last_error
        assert "check the clientId" in error and "is not valid" in error


def test_reply_and_note_are_written_once_even_when_the_answer_is_lost(
    make_source: Any, hartwell: Any, cw: ConnectWiseSandbox, people: Any
) -> None:
    source = cw_source(make_source, cw)
    with tenant_context(hartwell):
        polling.poll(source.pk)
        ticket = Ticket.objects.get(external_id="5101")
        reply = services.reply(
            ticket=ticket, body="Please try the PCL6 driver.", kind="public_reply", author=people["bob"]
        )
        cw.lose_next_answer("POST", "/service/tickets/5101/notes")  # Manage writes it, the gateway answers 504
        with pytest.raises(delivery.RetryDelivery):
            delivery.deliver(reply.pk)
        assert Message.objects.get(pk=reply.pk).delivery_state == DeliveryState.QUEUED
        assert delivery.deliver(reply.pk) == "sent"  # the retry finds the note instead of writing it again
        assert delivery.deliver(reply.pk) == "not-queued"
        written = [n for n in cw.ticket_notes(5101) if n["text"] == "Please try the PCL6 driver."]
        assert len(written) == 1
        assert (written[0]["detailDescriptionFlag"], written[0]["internalAnalysisFlag"]) == (True, False)
        assert written[0]["processNotifications"] is True and written[0]["member"]["identifier"] == "gaby"
        assert Message.objects.get(pk=reply.pk).external_id == f"note-{written[0]['id']}"

        note = services.reply(
            ticket=ticket, body="Driver 7.1 is known bad.", kind="internal_note", author=people["bob"]
        )
        cw.fail_next(429, path=f"{API}/service/tickets/5101/notes", method="POST", headers={"Retry-After": "7"})
        with pytest.raises(delivery.RetryDelivery, match="retry after 7s"):
            delivery.deliver(note.pk)
        assert delivery.deliver(note.pk) == "sent"
        notes = [n for n in cw.ticket_notes(5101) if n["text"] == "Driver 7.1 is known bad."]
        assert len(notes) == 1 and notes[0]["internalAnalysisFlag"] is True
        assert notes[0]["detailDescriptionFlag"] is False and notes[0]["processNotifications"] is False
        # Polling back what Gaby wrote adds no duplicate: the delivered message carries Manage's note id.
        TicketSource.objects.filter(pk=source.pk).update(next_poll_at=None)
        assert polling.poll(source.pk).new_messages == 0


def test_status_priority_and_owner_are_patched_and_time_is_charged_to_the_ticket(
    make_source: Any, hartwell: Any, cw: ConnectWiseSandbox, people: Any
) -> None:
    source = cw_source(make_source, cw)
    with tenant_context(hartwell):
        polling.poll(source.pk)
        ticket = Ticket.objects.get(external_id="5101")
        services.change_status(ticket=ticket, status="solved", actor=people["bob"])
        services.change_priority(ticket=ticket, priority="low", actor=people["bob"])
        rows = TicketPush.objects.filter(ticket=ticket).order_by("field")
        assert [writeback.push(row.pk, row.version) for row in rows] == ["sent", "sent"]
    assert cw.patches == [
        (5101, [{"op": "replace", "path": "priority", "value": {"id": 4}}]),
        (5101, [{"op": "replace", "path": "status", "value": {"id": 20}}]),  # the board's "Completed"
    ]
    config = connection(cw, cw_company_id="250", time_work_type="Remote Support")
    adapter = ConnectWiseAdapter(source_id=str(source.pk), config=config)
    adapter.assign("5101", "Priya@nw.example")
    assert cw.tickets[5101]["owner_id"] == 151
    adapter.assign("5101", "")
    assert cw.tickets[5101]["owner_id"] == 0
    with pytest.raises(SourceError, match="no member with the office email"):
        adapter.assign("5101", "nobody@example.com")
    with pytest.raises(SourceError, match=r"no status named 'Waiting' .*statuses"):
        ConnectWiseAdapter(source_id="x", config={**config, "statuses": {"pending": "Waiting"}}).update_status(
            "5101", "pending"
        )
    adapter.log_time_entry("5101", minutes=45, note="Driver swap", billable=True)
    adapter.log_time_entry("5101", minutes=6, note="Follow-up call", billable=False)
    entries = sorted(cw.time_entries.values(), key=lambda e: e["id"])
    assert [
        (e["chargeToType"], e["chargeToId"], e["actualHours"], e["billableOption"], e["notes"]) for e in entries
    ] == [
        ("ServiceTicket", 5101, 0.75, "Billable", "Driver swap"),
        ("ServiceTicket", 5101, 0.1, "DoNotBill", "Follow-up call"),
    ]
    assert entries[0]["workType"] == {"id": 1, "name": "Remote Support"}
    assert entries[0]["member"]["identifier"] == "gaby" and entries[0]["company"]["id"] == 250
    with pytest.raises(SourceError, match="Service ticket 999 does not exist"):
        adapter.log_time_entry("999", minutes=5, note="x", billable=True)


def test_callbacks_are_checked_read_again_and_kept_to_the_mapped_company(
    make_source: Any, hartwell: Any, cw: ConnectWiseSandbox, as_user: Any
) -> None:
    source = cw_source(make_source, cw)
    web = as_user(None, "hartwell")
    url = f"/api/v1/sources/{source.pk}/callback/connectwise/{SECRET}"
    body = json.dumps(cw.callback_body(5102))
    wrong = web.post(url.replace(SECRET, "x" * 24), body, content_type="application/json")
    assert wrong.status_code == 401 and "not this source's callback secret" in wrong.json()["detail"]
    elsewhere = as_user(None, "dearborn").post(url, body, content_type="application/json")
    assert elsewhere.status_code == 404  # Hartwell's source does not exist on Dearborn's domain
    unsigned = web.post(f"/api/v1/sources/{source.pk}/webhook/connectwise", body, content_type="application/json")
    assert unsigned.status_code == 401 and "callback URL" in unsigned.json()["detail"]
    ok = web.post(url, body, content_type="application/json")
    assert ok.status_code == 200 and ok.json()["created"] is True
    assert cw.calls("GET", f"{API}/service/tickets/5102")  # read again from Manage, not taken from the body
    other = json.dumps(cw.callback_body(6101))  # Dearborn Law's ticket sent to Hartwell's source
    ignored = web.post(url, other, content_type="application/json")
    assert ignored.status_code == 202 and "ConnectWise company 251" in ignored.json()["detail"]
    deleted = web.post(url, json.dumps(cw.callback_body(5101, action="deleted")), content_type="application/json")
    assert deleted.status_code == 202
    bad = web.post(url, json.dumps({"Type": "ticket", "Action": "updated"}), content_type="application/json")
    assert bad.status_code == 400 and bad.json()["field"] == "ID"
    company = web.post(url, json.dumps({**cw.callback_body(5101), "Type": "company"}), content_type="application/json")
    assert company.status_code == 400 and company.json()["field"] == "Type"
    cw.fail_next(503, path=f"{API}/service/tickets/5101", times=4)
    down = web.post(url, json.dumps(cw.callback_body(5101)), content_type="application/json")
    assert down.status_code == 503  # Manage retries the callback
    with tenant_context(hartwell):
        assert sorted(Ticket.objects.values_list("external_id", flat=True)) == ["5102"]
        kept = list(QuarantinedPayload.objects.filter(source=source).order_by("received_at"))
        assert [k.error.split(":")[0] for k in kept] == ["No ticket id", "A callback of type 'company'"]
        assert "updated" in kept[0].raw


def test_the_connect_form_builds_the_configuration(as_user: Any, hartwell: Any) -> None:
    fields = {
        "name": "ConnectWise",
        "poll_interval_seconds": "120",
        "site_url": "https://api-na.myconnectwise.net/v4_6_release/apis/3.0/",
        "company_id": "northwind",
        "public_key": "pub",
        "private_key": "priv",
        "client_id": CLIENT_ID,
        "cw_company_id": "250",
        "callback_secret": "0123456789abcdef",
    }
    response = as_user("alice", "hartwell").post("/inbox/sources/connect/connectwise/", fields)
    assert response.status_code == 302, response.content.decode()[:2000]
    with tenant_context(hartwell):
        source = TicketSource.objects.get(kind="connectwise")
        assert services.source_config(client=hartwell, source=source) == {
            "site_url": "https://api-na.myconnectwise.net",
            "company_id": "northwind",
            "public_key": "pub",
            "private_key": "priv",
            "client_id": CLIENT_ID,
            "cw_company_id": "250",
            "callback_secret": "0123456789abcdef",
        }
    page = as_user("alice", "hartwell").get("/inbox/sources/").content.decode()
    assert f"/api/v1/sources/{source.pk}/callback/connectwise/&lt;callback secret&gt;" in page
    refused = as_user("alice", "hartwell").post(
        "/inbox/sources/connect/connectwise/",
        {**fields, "site_url": "http://cw.example", "cw_company_id": "0", "client_id": "not-a-guid"},
    )
    html = refused.content.decode()
    assert refused.status_code == 400
    assert "https:// address" in html and "positive number" in html and "A clientId is a GUID" in html


def test_the_cli_lists_companies_maps_them_and_registers_callbacks_in_one_step(
    cw: ConnectWiseSandbox, hartwell: Any, dearborn: Any
) -> None:
    config = json.dumps(connection(cw))
    out = StringIO()
    call_command("gaby", "connect-connectwise", "--config", config, "--list", stdout=out)
    assert out.getvalue().splitlines() == ["250\tHartwell Dental", "251\tDearborn Law", "252\tAshby Bakery"]
    out = StringIO()
    call_command(
        "gaby",
        "connect-connectwise",
        "--config",
        config,
        "--map",
        "250=hartwell",
        "--map",
        "251=dearborn",
        "--register-callbacks",
        stdout=out,
    )
    text = out.getvalue()
    assert "ConnectWise company 250 (Hartwell Dental) → " in text and "/callback/connectwise/" in text
    assert "Registered 2 callback(s)" in text
    registered = sorted(cw.callbacks.values(), key=lambda c: c["objectId"])
    assert [(c["objectId"], c["type"], c["level"]) for c in registered] == [
        (250, "Ticket", "Company"),
        (251, "Ticket", "Company"),
    ]
    for client, callback in zip((hartwell, dearborn), registered, strict=True):
        with tenant_context(client):
            source = TicketSource.objects.get(kind="connectwise")
            secret = services.source_config(client=client, source=source)["callback_secret"]
            assert callback["url"].endswith(f"/api/v1/sources/{source.pk}/callback/connectwise/{secret}")
            assert callback["url"] in text
    # A contact adds a note in Manage: Manage posts Hartwell's callback only, to the URL the CLI registered.
    cw.add_note(5101, "Still blank on the second floor too.")
    fired = cw.fire_callbacks(5101, send=_through_django)
    assert [(urlsplit(url).netloc.split(".")[0], status) for url, status in fired] == [("hartwell", 200)]
    with tenant_context(hartwell):
        ticket = Ticket.objects.get(external_id="5101")
        assert ticket.messages.filter(body="Still blank on the second floor too.").count() == 1
    with tenant_context(dearborn):
        assert not Ticket.objects.exists()
    with pytest.raises(CommandError, match="mapped twice"):
        call_command(
            "gaby", "connect-connectwise", "--config", config, "--map", "252=hartwell", "--map", "252=dearborn"
        )
    with pytest.raises(CommandError, match="no Gaby client with slug 'nope'"):
        call_command("gaby", "connect-connectwise", "--config", config, "--map", "252=nope")
    with pytest.raises(CommandError, match="refused the API member's keys"):
        bad = json.dumps(connection(cw, private_key="nope"))
        call_command("gaby", "connect-connectwise", "--config", bad, "--list")
