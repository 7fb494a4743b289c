"""Autotask PSA through the real path: the stand-in over HTTP → zone → poll → tickets in each mapped client → writes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django_tenants.utils import tenant_context

from apps.tickets import delivery, polling, services, writeback
from apps.tickets.autotask_mapping import LINK
from apps.tickets.models import DeliveryState, Message, QuarantinedPayload, Ticket, TicketPush, TicketSource
from apps.tickets.psa_mapping import MappingError, connect_clients
from apps.tickets.sources.autotask import reader
from apps.tickets.sources.autotask.adapter import AutotaskAdapter
from apps.tickets.sources.base import SourceError
from sandbox.autotask import AutotaskSandbox
from sandbox.autotask_seed import PICKLISTS

pytestmark = pytest.mark.django_db
USER = "gaby-api@northwind.example"


@pytest.fixture
def at() -> Iterator[AutotaskSandbox]:
    reader._ZONES.clear()  # a stand-in on a port an earlier test's used: its zone is asked again
    with AutotaskSandbox() as sandbox:
        yield sandbox


def connection(at: AutotaskSandbox, **extra: Any) -> dict[str, Any]:
    return {
        "webservices_url": at.base_url,
        "username": USER,
        "secret": "at-secret",
        "integration_code": "GABYTRACKINGIDENTIFIER01",
        **extra,
    }


def at_source(make_source: Any, at: AutotaskSandbox, company: int = 174, **extra: Any) -> TicketSource:
    config = connection(at, at_company_id=str(company), backfill_days=3650)
    return make_source(**{"kind": "autotask", "name": "Autotask", **config, **extra})


def _ticket_queries(at: AutotaskSandbox) -> list[Any]:
    return [c for c in at.requests if "/Tickets/query" in c.path]


def test_one_connection_feeds_each_mapped_client_only_its_own_company(
    at: AutotaskSandbox, hartwell: Any, dearborn: Any
) -> None:
    made = connect_clients(LINK, connection=connection(at), mapping={174: hartwell, 175: dearborn})
    assert [(m.company_id, m.client.slug, m.company_name) for m in made] == [
        (174, "hartwell", "Hartwell Dental"),
        (175, "dearborn", "Dearborn Law"),
    ]
    assert made[0].secret != made[1].secret  # each source its own webhook secret key (Autotask's is 64 at most)
    for item in made:
        with tenant_context(item.client):
            config = services.source_config(client=item.client, source=item.source)
            assert config["at_company_id"] == str(item.company_id) and config["webhook_secret"] == item.secret
            assert 10 <= len(item.secret) <= 64
            services.update_source_config(
                client=item.client, source=item.source, config={**config, "backfill_days": 3650}
            )
            assert polling.poll(item.source.pk).status == "ok"
    with tenant_context(hartwell):
        assert sorted(Ticket.objects.values_list("external_id", flat=True)) == ["7701", "7702"]
        payslips = Ticket.objects.get(external_id="7701")
        assert (payslips.title, payslips.status, payslips.priority) == ("Payslips print blank", "new", "high")
        assert payslips.contact is not None
        assert (payslips.contact.email, payslips.contact.external_id) == ("nora@hartwell.example", "30001")
        thread = [(m.external_id, m.direction, m.kind) for m in payslips.messages.order_by("created_at")]
        assert ("note-91001", "outbound", "public_reply") in thread
        server = Ticket.objects.get(external_id="7702")
        assert (server.status, server.priority) == ("open", "urgent")
        assert server.messages.get(external_id="note-91002").kind == "internal_note"
    with tenant_context(dearborn):
        assert list(Ticket.objects.values_list("external_id", flat=True)) == ["7801"]
    # Every ticket query names the source's company only; Ashby Bakery (176) is mapped to nobody.
    asked = {json.loads(c.query["search"][0])["filter"][0]["value"] for c in _ticket_queries(at) if "search" in c.query}
    assert asked == {174, 175}
    # Every API call went to the zone the discovery named, with the API user's three headers.
    zone_calls = [c for c in at.requests if c.path.startswith(at.zone_root)]
    assert zone_calls and all(c.headers.get("apiintegrationcode") == "GABYTRACKINGIDENTIFIER01" for c in zone_calls)
    [discovery] = at.calls("GET", "/atservicesrest/v1.0/zoneInformation")  # once: every later adapter knows it
    assert discovery.query["user"] == [USER]

    with pytest.raises(MappingError, match="already receives Autotask company 174"):
        connect_clients(LINK, connection=connection(at), mapping={174: hartwell})
    with pytest.raises(MappingError, match=r"no company with id \[99\].*174 Hartwell Dental"):
        connect_clients(LINK, connection=connection(at), mapping={99: hartwell})
    with pytest.raises(MappingError, match="needs integration_code"):
        connect_clients(LINK, connection={**connection(at), "integration_code": ""}, mapping={176: hartwell})


def test_zone_discovery_and_bad_credentials_say_what_to_fix(
    make_source: Any, hartwell: Any, at: AutotaskSandbox
) -> None:
    wrong_secret = at_source(make_source, at, name="Wrong secret", secret="nope")
    wrong_code = at_source(make_source, at, name="Wrong code", integration_code="NOT-OURS")
    unknown_user = at_source(make_source, at, name="Unknown user", username="someone@else.example")
    with tenant_context(hartwell):
        for source in (wrong_secret, wrong_code):
            assert polling.poll(source.pk).status == "failed"
            error = TicketSource.objects.get(pk=source.pk).last_error
            assert "Autotask refused the API user" in error and "API integration code" in error, error
        assert polling.poll(unknown_user.pk).status == "failed"
        error = TicketSource.objects.get(pk=unknown_user.pk).last_error
        assert "could not say which zone serves 'someone@else.example'" in error, error
    # The API called outside the user's zone is refused as Autotask refuses it: discovery is not optional.
    adapter = AutotaskAdapter(source_id="x", config=connection(at, at_company_id="174"))
    adapter._zone = at.base_url + "/atservicesrest/v1.0"
    with pytest.raises(SourceError, match="another zone"):
        adapter.companies()


def test_incremental_pull_follows_pages_and_picks_up_a_new_note(
    make_source: Any, hartwell: Any, at: AutotaskSandbox
) -> None:
    source = at_source(make_source, at, page_size=1)
    with tenant_context(hartwell):
        first = polling.poll(source.pk)
        assert (first.status, first.created) == ("ok", 2)
        queries = _ticket_queries(at)
        assert [c.path.rsplit("/", 1)[-1] for c in queries] == ["query", "next"]  # page two by nextPageUrl
        assert TicketSource.objects.get(pk=source.pk).cursor == {"since": "2026-11-16T10:30:00.000Z"}

        at.add_note(7701, "It is the LaserJet M404 on the second floor.")
        TicketSource.objects.filter(pk=source.pk).update(next_poll_at=None)
        again = polling.poll(source.pk)
        assert (again.status, again.created, again.updated, again.new_messages) == ("ok", 0, 1, 1)
        latest = Ticket.objects.get(external_id="7701").messages.order_by("-created_at").first()
        assert latest is not None
        assert (latest.direction, latest.body) == ("inbound", "It is the LaserJet M404 on the second floor.")
        bound = json.loads(_ticket_queries(at)[-1].query["search"][0])["filter"][1]
        assert bound == {"op": "gt", "field": "lastActivityDate", "value": "2026-11-16T10:30:00.000Z"}


def test_a_ticket_that_cannot_be_read_is_quarantined_and_429s_are_waited_out(
    make_source: Any, hartwell: Any, at: AutotaskSandbox, monkeypatch: Any
) -> None:
    monkeypatch.setitem(PICKLISTS["Tickets"], "priority", {**PICKLISTS["Tickets"]["priority"], "4": "P0"})
    at.fail_next(429, path=f"{at.zone_root}/Tickets/query", headers={"Retry-After": "1"})
    source = at_source(make_source, at)
    with tenant_context(hartwell):
        result = polling.poll(source.pk)
        assert (result.status, result.created, result.quarantined) == ("ok", 1, 1), result
        kept = QuarantinedPayload.objects.get(source=source)
        assert "unknown priority 'P0'" in kept.error and "'priorities' setting" in kept.error
        assert json.loads(kept.raw)["id"] == 7702
    assert [c.status for c in _ticket_queries(at)][:2] == [429, 200]  # the same query again after Retry-After
    assert at.calls()[-1].status == 200


def test_reply_and_note_are_written_once_even_when_the_answer_is_lost(
    make_source: Any, hartwell: Any, at: AutotaskSandbox, people: Any
) -> None:
    source = at_source(make_source, at)
    with tenant_context(hartwell):
        polling.poll(source.pk)
        ticket = Ticket.objects.get(external_id="7701")
        reply = services.reply(
            ticket=ticket, body="Please try the PCL6 driver.", kind="public_reply", author=people["bob"]
        )
        at.lose_next_answer("POST", "/Tickets/7701/Notes")  # Autotask writes it, the gateway answers 504
        with pytest.raises(delivery.RetryDelivery):
            delivery.deliver(reply.pk)
        assert Message.objects.get(pk=reply.pk).delivery_state == DeliveryState.QUEUED
        assert delivery.deliver(reply.pk) == "sent"  # the retry finds the note instead of writing it again
        written = [n for n in at.notes.values() if n["description"] == "Please try the PCL6 driver."]
        assert len(written) == 1
        assert (written[0]["publish"], written[0]["creatorResourceID"]) == (1, 29682885)  # all users; the API user
        assert Message.objects.get(pk=reply.pk).external_id == f"note-{written[0]['id']}"

        note = services.reply(
            ticket=ticket, body="Driver 7.1 is known bad.", kind="internal_note", author=people["bob"]
        )
        at.fail_next(429, path=f"{at.zone_root}/Tickets/7701/Notes", method="POST", headers={"Retry-After": "7"})
        with pytest.raises(delivery.RetryDelivery, match="retry after 7s"):
            delivery.deliver(note.pk)
        assert delivery.deliver(note.pk) == "sent"
        notes = [n for n in at.notes.values() if n["description"] == "Driver 7.1 is known bad."]
        assert len(notes) == 1 and notes[0]["publish"] == 2  # Internal Only
        TicketSource.objects.filter(pk=source.pk).update(next_poll_at=None)
        assert polling.poll(source.pk).new_messages == 0  # what Gaby wrote comes back with its own note id


def test_status_priority_and_assignee_are_patched_by_label(
    make_source: Any, hartwell: Any, at: AutotaskSandbox, people: Any
) -> None:
    source = at_source(make_source, at)
    with tenant_context(hartwell):
        polling.poll(source.pk)
        ticket = Ticket.objects.get(external_id="7701")
        services.change_status(ticket=ticket, status="pending", actor=people["bob"])
        services.change_priority(ticket=ticket, priority="low", actor=people["bob"])
        rows = TicketPush.objects.filter(ticket=ticket).order_by("field")
        assert [writeback.push(row.pk, row.version) for row in rows] == ["sent", "sent"]
    assert at.patches == [(7701, {"priority": 3}), (7701, {"status": 7})]  # "Low", "Waiting Customer"
    adapter = AutotaskAdapter(source_id=str(source.pk), config=connection(at, at_company_id="174"))
    adapter.assign("7701", "Priya@northwind.example")
    assert (at.tickets[7701]["assignedResourceID"], at.tickets[7701]["assignedResourceRoleID"]) == (29682886, 29682834)
    adapter.assign("7701", "")
    assert at.tickets[7701]["assignedResourceID"] is None
    with pytest.raises(SourceError, match=r"no resource with email nobody@example\.com"):
        adapter.assign("7701", "nobody@example.com")
    renamed = AutotaskAdapter(source_id="x", config={**adapter.config, "statuses": {"pending": "Waiting"}})
    with pytest.raises(SourceError, match=r"no ticket status labelled 'Waiting' .*'statuses'"):
        renamed.update_status("7701", "pending")
    # Time logged outside billing's ledger takes the source's own billing code, role and resource settings.
    timed = AutotaskAdapter(
        source_id="x",
        config={**adapter.config, "time_billing_code_id": "29682802", "time_role_id": "29682834"},
    )
    timed.log_time_entry("7701", minutes=45, note="Driver swap", billable=False)
    [entry] = at.time_entries.values()
    assert (entry["hoursWorked"], entry["isNonBillable"], entry["summaryNotes"]) == (0.75, True, "Driver swap")
    assert (entry["resourceID"], entry["roleID"], entry["billingCodeID"]) == (29682885, 29682834, 29682802)
    with pytest.raises(SourceError, match="a time entry is charged to an existing ticket"):
        timed.log_time_entry("999", minutes=5, note="x", billable=True)


def test_the_cli_lists_companies_and_maps_them_in_one_step(at: AutotaskSandbox, hartwell: Any, dearborn: Any) -> None:
    config = json.dumps(connection(at))
    out = StringIO()
    call_command("gaby", "connect-autotask", "--config", config, "--list", stdout=out)
    assert out.getvalue().splitlines() == [
        "0\tNorthwind IT (owner)",
        "174\tHartwell Dental",
        "175\tDearborn Law",
        "176\tAshby Bakery",
    ]  # Old Mill Pharmacy is inactive
    out = StringIO()
    call_command("gaby", "connect-autotask", "--config", config, "--map", "174=hartwell", "--map", "175=dearborn",
                 stdout=out)  # fmt: skip
    assert "Autotask company 174 (Hartwell Dental) → " in out.getvalue()
    for client, company in ((hartwell, "174"), (dearborn, "175")):
        with tenant_context(client):
            source = TicketSource.objects.get(kind="autotask")
            assert services.source_config(client=client, source=source)["at_company_id"] == company
    with pytest.raises(CommandError, match="mapped twice"):
        call_command("gaby", "connect-autotask", "--config", config, "--map", "176=hartwell", "--map", "176=dearborn")
    with pytest.raises(CommandError, match="Autotask refused the API user"):
        call_command("gaby", "connect-autotask", "--config", json.dumps(connection(at, secret="nope")), "--list")


def test_the_connect_form_builds_the_configuration(as_user: Any, hartwell: Any) -> None:
    fields = {
        "name": "Autotask",
        "poll_interval_seconds": "120",
        "username": "gaby@northwind.example",
        "secret": "s3cret",
        "integration_code": "GABYTRACKINGIDENTIFIER01",
        "at_company_id": "174",
    }
    response = as_user("alice", "hartwell").post("/inbox/sources/connect/autotask/", fields)
    assert response.status_code == 302, response.content.decode()[:2000]
    with tenant_context(hartwell):
        source = TicketSource.objects.get(kind="autotask")
        assert services.source_config(client=hartwell, source=source) == {
            "username": "gaby@northwind.example",
            "secret": "s3cret",
            "integration_code": "GABYTRACKINGIDENTIFIER01",
            "at_company_id": "174",
        }
    page = as_user("alice", "hartwell").get("/inbox/sources/").content.decode()
    assert f"/api/v1/sources/{source.pk}/webhook/autotask" in page  # polled, and pushed once a webhook exists
    refused = as_user("alice", "hartwell").post(
        "/inbox/sources/connect/autotask/",
        {**fields, "username": "gaby", "integration_code": "has spaces", "at_company_id": "-1"},
    )
    html = refused.content.decode()
    assert refused.status_code == 400
    assert "valid email" in html and "tracking identifier" in html and "greater than or equal to 0" in html
