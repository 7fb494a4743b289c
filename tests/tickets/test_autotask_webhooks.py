"""Autotask ticket webhooks through the real path: `gaby connect-autotask --register-webhooks` creates them at the
stand-in, the stand-in posts signed callouts when tickets change, Gaby verifies, reads the ticket again and ingests
it as a poll would; bad signatures, repeats, other companies, deletions and unreadable tickets are each handled."""

from __future__ import annotations

import json
from collections.abc import Iterator
from io import StringIO
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from django.test import Client as DjangoClient
from django_tenants.utils import tenant_context

from apps.tickets import delivery, polling, services
from apps.tickets.models import QuarantinedPayload, Ticket, TicketSource
from apps.tickets.quarantine_retry import retry_quarantined
from apps.tickets.sources.autotask import reader
from sandbox.autotask import AutotaskSandbox
from sandbox.autotask_seed import PICKLISTS
from sandbox.autotask_webhooks import sign
from tests.tickets.test_autotask import USER, at_source, connection

pytestmark = pytest.mark.django_db


@pytest.fixture
def at() -> Iterator[AutotaskSandbox]:
    reader._ZONES.clear()
    with AutotaskSandbox() as sandbox:
        yield sandbox


def _through_django(url: str, body: bytes, headers: dict[str, str]) -> int:
    """The stand-in's callout, posted to Gaby's endpoint through Django's test client (the host names the client)."""
    parts = urlsplit(url)
    extra = {key: value for key, value in headers.items() if key != "Content-Type"}
    web = DjangoClient(HTTP_HOST=parts.netloc)
    return int(web.post(parts.path, body, content_type=headers["Content-Type"], headers=extra).status_code)


def _connect(at: AutotaskSandbox, *maps: str) -> str:
    out = StringIO()
    pairs = [arg for pair in maps for arg in ("--map", pair)]
    call_command(
        "gaby", "connect-autotask", "--config", json.dumps(connection(at)), *pairs, "--register-webhooks", stdout=out
    )
    return out.getvalue()


def _source(client: Any) -> tuple[TicketSource, dict[str, Any]]:
    with tenant_context(client):
        source = TicketSource.objects.get(kind="autotask")
        return source, services.source_config(client=client, source=source)


def _ticket_reads(at: AutotaskSandbox, ticket_id: int) -> int:
    return len(at.calls("GET", f"{at.zone_root}/Tickets/{ticket_id}"))


def test_registered_webhooks_call_gaby_when_a_ticket_changes_and_not_for_its_own_writes(
    at: AutotaskSandbox, hartwell: Any, dearborn: Any, people: Any
) -> None:
    text = _connect(at, "174=hartwell", "175=dearborn")
    assert "Created 2 ticket webhook(s) at Autotask" in text and "/webhook/autotask" in text
    hooks = sorted(at.webhooks.values(), key=lambda w: w["id"])
    assert [(w["isActive"], w["isReady"], w["isSubscribedToUpdateEvents"]) for w in hooks] == [(True, True, True)] * 2
    me = at.api_resource["id"]
    assert sorted(r["resourceID"] for r in at.excluded_resources.values()) == [me, me]  # Gaby's writes: no callout
    for client, hook in zip((hartwell, dearborn), hooks, strict=True):
        source, config = _source(client)
        assert config["webhook_id"] == hook["id"] and hook["secretKey"] == config["webhook_secret"]
        assert hook["webhookUrl"] == f"https://{client.slug}.localhost/api/v1/sources/{source.pk}/webhook/autotask"
        assert hook["deactivationUrl"].startswith(hook["webhookUrl"] + "/deactivated/")
        assert config["webhook_secret"] not in hook["deactivationUrl"]

    # A contact opens a ticket for Hartwell Dental: both webhooks are called (Autotask's are database-wide); only
    # Hartwell's source reads and ingests it, Dearborn's answers "another company" without asking Autotask.
    opened = at.add_ticket(174, "Scanner offline", "The front desk scanner shows offline since 9am.")
    fired = at.deliver_webhooks(send=_through_django)
    assert sorted((urlsplit(url).netloc.split(".")[0], status) for url, status in fired) == [
        ("dearborn", 202),
        ("hartwell", 200),
    ]
    assert _ticket_reads(at, opened["id"]) == 1
    with tenant_context(hartwell):
        ticket = Ticket.objects.get(external_id=str(opened["id"]))
        assert ticket.contact is not None and ticket.contact.email == "nora@hartwell.example"
        assert (ticket.title, ticket.status) == ("Scanner offline", "new")
    with tenant_context(dearborn):
        assert not Ticket.objects.filter(external_id=str(opened["id"])).exists()

    # The contact adds a note: lastActivityDate moves, the callout brings the note in.
    at.add_note(opened["id"], "It is the Fujitsu fi-7160.")
    assert {status for _, status in at.deliver_webhooks(send=_through_django)} == {200, 202}
    with tenant_context(hartwell):
        assert ticket.messages.filter(body="It is the Fujitsu fi-7160.", direction="inbound").count() == 1
        # Gaby's own reply is written as the API user: excluded, so Autotask does not call Gaby back for it.
        reply = services.reply(ticket=ticket, body="Please power-cycle it.", kind="public_reply", author=people["bob"])
        assert delivery.deliver(reply.pk) == "sent"
    assert at.outbox == []


def test_signatures_repeats_deletions_and_unreadable_tickets(
    at: AutotaskSandbox, make_source: Any, hartwell: Any, monkeypatch: Any
) -> None:
    source = at_source(make_source, at, webhook_secret="s3cret-key-of-the-webhook")
    url = f"/api/v1/sources/{source.pk}/webhook/autotask"
    web = DjangoClient(HTTP_HOST="hartwell.localhost")

    def post(payload: dict[str, Any], *, secret: str = "s3cret-key-of-the-webhook", signed: bool = True) -> Any:
        body = json.dumps(payload).encode()
        headers = {"X-Hook-Signature": sign(secret, body)} if signed else {}
        return web.post(url, body, content_type="application/json", headers=headers)

    callout = {"Action": "Update", "Guid": "g-1", "EntityType": "Ticket", "Id": 7701, "Fields": {"id": 7701},
               "EventTime": "2026-12-07T10:00:00Z", "SequenceNumber": 1, "PersonID": None}  # fmt: skip
    before = len(at.requests)
    forged = post(callout, secret="not-the-secret-key")
    assert forged.status_code == 401 and "does not match" in forged.json()["detail"]
    unsigned = post(callout, signed=False)
    assert unsigned.status_code == 401 and "X-Hook-Signature" in unsigned.json()["detail"]
    assert len(at.requests) == before  # nothing read from Autotask for a callout that is not Autotask's
    with tenant_context(hartwell):
        assert not Ticket.objects.exists() and not QuarantinedPayload.objects.exists()

    first = post(callout)
    assert first.status_code == 200 and first.json()["created"] is True
    again = post(callout)  # Autotask did not hear the answer and delivers the same callout again
    assert again.status_code == 202 and "repeated delivery" in again.json()["detail"]
    assert _ticket_reads(at, 7701) == 1
    assert post({**callout, "SequenceNumber": 2}).status_code == 200  # a later change is read again
    assert post({**callout, "Action": "Delete", "SequenceNumber": 3}).status_code == 202
    other = post({**callout, "Id": 7801, "Fields": {"companyID": 175}, "SequenceNumber": 4})
    assert other.status_code == 202 and "company 175" in other.json()["detail"]
    assert _ticket_reads(at, 7801) == 0

    wrong_entity = post({**callout, "EntityType": "Company", "SequenceNumber": 5})
    assert wrong_entity.status_code == 400 and wrong_entity.json()["field"] == "EntityType"
    # A ticket whose priority Gaby cannot name is quarantined with its error, then read again once mapped.
    monkeypatch.setitem(PICKLISTS["Tickets"], "priority", {**PICKLISTS["Tickets"]["priority"], "4": "P0"})
    unreadable = post({**callout, "Id": 7702, "SequenceNumber": 6})
    assert unreadable.status_code == 400 and "unknown priority 'P0'" in unreadable.json()["detail"]
    at.fail_next(503, path=f"{at.zone_root}/Tickets/7702", times=4)
    down = post({**callout, "Id": 7702, "SequenceNumber": 7})
    assert down.status_code == 503  # Autotask retries; the repeat is not mistaken for one already read
    with tenant_context(hartwell):
        kept = list(QuarantinedPayload.objects.filter(source=source).order_by("received_at"))
        assert [k.error.split(":")[0] for k in kept] == [
            "A callout for entity 'Company'",
            "Autotask ticket 7702 could not be read",
        ]
        config = services.source_config(client=hartwell, source=source)
        services.update_source_config(client=hartwell, source=source, config={**config, "priorities": {"P0": "urgent"}})
        outcome = retry_quarantined(client=hartwell, payload=kept[1])
        assert outcome.ok, outcome.reason
        assert Ticket.objects.get(external_id="7702").priority == "urgent"
    assert post({**callout, "Id": 7702, "SequenceNumber": 7}).status_code == 200  # the 503'd one, delivered again


def test_a_ticket_the_poll_quarantined_is_read_again_by_its_id(
    at: AutotaskSandbox, make_source: Any, hartwell: Any, monkeypatch: Any
) -> None:
    """Retrying a polled ticket reads it again from Autotask: the poll has moved past it and would not."""
    monkeypatch.setitem(PICKLISTS["Tickets"], "priority", {**PICKLISTS["Tickets"]["priority"], "4": "P0"})
    source = at_source(make_source, at)
    with tenant_context(hartwell):
        assert polling.poll(source.pk).quarantined == 1
        kept = QuarantinedPayload.objects.get(source=source)
        failed = retry_quarantined(client=hartwell, payload=kept)
        assert not failed.ok and "unknown priority 'P0'" in failed.reason  # still unmapped: kept, with the reason
        config = services.source_config(client=hartwell, source=source)
        services.update_source_config(client=hartwell, source=source, config={**config, "priorities": {"P0": "urgent"}})
        kept.refresh_from_db()
        assert retry_quarantined(client=hartwell, payload=kept).ok
        assert Ticket.objects.get(external_id="7702").priority == "urgent"
        assert QuarantinedPayload.objects.get(pk=kept.pk).resolved


def test_unregistering_deletes_the_webhook_and_autotask_says_so_at_the_deactivation_url(
    at: AutotaskSandbox, hartwell: Any, dearborn: Any
) -> None:
    _connect(at, "174=hartwell")
    source, config = _source(hartwell)
    hook = at.webhooks[config["webhook_id"]]
    wrong = DjangoClient(HTTP_HOST="hartwell.localhost").post(
        urlsplit(hook["deactivationUrl"]).path.rsplit("/", 1)[0] + "/0" * 1, b"{}", content_type="application/json"
    )
    assert wrong.status_code == 401
    out = StringIO()
    call_command("gaby", "connect-autotask", "--unregister-webhooks", "hartwell", stdout=out)
    assert "Deleted 1 webhook(s) of Hartwell" in out.getvalue()
    assert at.webhooks == {}
    assert at.deliver_webhooks(send=_through_django) == [(hook["deactivationUrl"], 200)]
    _, after = _source(hartwell)
    assert "webhook_id" not in after and after["webhook_deactivated"].endswith("UTC")
    at.add_note(7701, "Anyone there?")
    assert at.outbox == []  # no webhook left to call: the poll reads it
    with tenant_context(hartwell):
        services.update_source_config(client=hartwell, source=source, config={**after, "backfill_days": 3650})
        assert polling.poll(source.pk).status == "ok"
        assert Ticket.objects.get(external_id="7701").messages.filter(body="Anyone there?").exists()
    assert USER in at.api_users


def test_a_callout_is_read_even_when_redis_cannot_remember_deliveries(
    at: AutotaskSandbox, make_source: Any, hartwell: Any
) -> None:
    from django.test import override_settings

    source = at_source(make_source, at, webhook_secret="s3cret-key-of-the-webhook")
    body = json.dumps({"Action": "Update", "EntityType": "Ticket", "Id": 7701, "Fields": {"id": 7701}}).encode()
    web = DjangoClient(HTTP_HOST="hartwell.localhost")
    with override_settings(REDIS_URL="redis://127.0.0.1:1/0"):  # nothing listens there
        answer = web.post(
            f"/api/v1/sources/{source.pk}/webhook/autotask",
            body,
            content_type="application/json",
            headers={"X-Hook-Signature": sign("s3cret-key-of-the-webhook", body)},
        )
    assert answer.status_code == 200 and answer.json()["created"] is True


def test_the_connect_form_can_create_the_webhook(
    at: AutotaskSandbox, hartwell: Any, as_user: Any, monkeypatch: Any
) -> None:
    monkeypatch.setattr(reader, "WEBSERVICES", at.base_url)  # Autotask's webservices host is the stand-in here
    fields = {
        "name": "Autotask",
        "poll_interval_seconds": "120",
        "username": USER,
        "secret": "at-secret",
        "integration_code": "GABYTRACKINGIDENTIFIER01",
        "at_company_id": "174",
        "webhook": "on",
    }
    response = as_user("alice", "hartwell").post("/inbox/sources/connect/autotask/", fields)
    assert response.status_code == 302, response.content.decode()[:2000]
    source, config = _source(hartwell)
    (hook,) = at.webhooks.values()
    assert config["webhook_id"] == hook["id"] and hook["secretKey"] == config["webhook_secret"]
    assert hook["webhookUrl"].endswith(f"/api/v1/sources/{source.pk}/webhook/autotask")
    refused = {**fields, "name": "Wrong secret", "secret": "nope", "at_company_id": "175"}
    page = as_user("alice", "hartwell").post("/inbox/sources/connect/autotask/", refused, follow=True)
    assert "The ticket webhook could not be created in Autotask" in page.content.decode()
    assert len(at.webhooks) == 1
