"""The MSP portal's attention queue and client cards, on real PostgreSQL with two client schemas (Hartwell and
Dearborn): every kind of item appears, filters narrow it, bulk actions are audited in the item's client's chain, a
staff member restricted to one client sees only that one, and the queue's query count does not grow with items."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import tenant_context

from apps.accounts.models import Membership, Role, User
from apps.agent.models import Investigation, InvestigationStatus, VerdictChoice
from apps.auditlog.audit import verify
from apps.auditlog.models import AuditEvent
from apps.billing.models import TimeRecord, Worker, WorkKind, WriteState
from apps.connectors.models import Connector, ConnectorEvent, EventKind, Status, Transport
from apps.portal import queue, snapshot
from apps.portal.models import AttentionMark
from apps.portal.tasks import refresh_attention
from apps.safety.models import ActionStatus, ToolAction
from apps.tickets import services
from apps.tickets.models import QuarantinedPayload, Ticket
from tests.llm_records import recorded_call

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def items_read_afresh() -> None:
    """Each test writes its items, then reads the queue: the first read reads every client's schema again."""
    snapshot.invalidate()


def _items(client: Any, tag: str) -> dict[str, Any]:
    """One item of every kind in ``client``'s schema, named after ``tag``."""
    now = timezone.now()
    with tenant_context(client):
        source = services.create_source(client=client, kind="webhook", name=f"{tag} portal", config={})
        connector = Connector.objects.create(
            kind="mcp_stdio",
            name=f"{tag} RMM",
            transport=Transport.STDIO,
            command="rmm",
            status=Status.DOWN,
            last_error="connection refused",
        )
        ConnectorEvent.objects.create(connector=connector, kind=EventKind.HEALTH, summary="Down: refused")
        approval = ToolAction.objects.create(
            idempotency_key=f"{tag}-reset",
            connector=connector,
            tool_name="reset_password",
            access="write",
            actor_kind="agent",
            outcome="approval",
            reason="writes need a person",
            status=ActionStatus.AWAITING_APPROVAL,
        )
        escalated = Ticket.objects.create(source=source, external_id=f"{tag}-1", title=f"{tag} VPN down")
        Investigation.objects.create(
            ticket=escalated,
            status=InvestigationStatus.DONE,
            verdict=VerdictChoice.NEEDS_TECH,
            escalation_reason="needs on-site",
            finished_at=now - timedelta(hours=3),
        )
        late = Ticket.objects.create(
            source=source, external_id=f"{tag}-2", title=f"{tag} printer", sla_due_at=now - timedelta(days=2)
        )
        bad = services.quarantine(
            source=source, raw=b"{not json", error="Invalid JSON", content_type="application/json"
        )
    return {"approval": approval, "escalated": escalated, "late": late, "connector": connector, "quarantined": bad}


@pytest.fixture
def both(hartwell: Any, dearborn: Any) -> dict[str, dict[str, Any]]:
    return {"hartwell": _items(hartwell, "HW"), "dearborn": _items(dearborn, "DB")}


def _rows(body: str) -> list[tuple[str, str]]:
    import re

    return re.findall(r'data-testid="attention-row" data-kind="(\w+)" data-client="(\w+)"', body)


def test_every_kind_of_item_of_every_client_appears_with_a_signed_in_link(as_user: Any, both: Any) -> None:
    body = as_user("mona", "public").get("/").content.decode()
    rows = _rows(body)
    for client in ("hartwell", "dearborn"):
        assert {kind for kind, c in rows if c == client} == {"approval", "escalation", "sla", "connector", "quarantine"}
    ticket = both["hartwell"]["escalated"].pk
    # *.localhost cannot share a cookie: the row opens the ticket through the hand-off, at its exact page.
    assert f'href="/accounts/handoff/to/hartwell/?next=%2Finbox%2Ft%2F{ticket}%2F"' in body
    assert "Needs a technician: needs on-site" in body, body
    assert "Down: connection refused" in body


def test_filters_narrow_by_client_kind_and_age(as_user: Any, both: Any) -> None:
    mona = as_user("mona", "public")
    only = _rows(mona.get("/attention/?client=dearborn&kind=sla", HTTP_HX_REQUEST="true").content.decode())
    assert only == [("sla", "dearborn")]
    older = _rows(mona.get("/attention/?age=1d", HTTP_HX_REQUEST="true").content.decode())
    assert sorted(older) == [("sla", "dearborn"), ("sla", "hartwell")]  # due two days ago; the rest is younger
    answer = mona.get("/attention/?kind=nonsense", HTTP_HX_REQUEST="true").content.decode()
    assert "Unknown kind nonsense: pick one of approval" in answer


def test_acknowledge_hides_the_item_and_is_audited_in_its_clients_chain(
    as_user: Any, both: Any, hartwell: Any, dearborn: Any, people: Any
) -> None:
    mona = as_user("mona", "public")
    ticket = both["hartwell"]["late"].pk
    with tenant_context(dearborn):
        dearborn_events = AuditEvent.objects.count()
    answer = mona.post(
        "/attention/act/", {"action": "acknowledge", "item": [f"hartwell|sla|{ticket}"]}, HTTP_HX_REQUEST="true"
    )
    assert answer.status_code == 200 and "Acknowledged 1 item." in answer.content.decode()
    assert ("sla", "hartwell") not in _rows(answer.content.decode())  # the open view hides it
    shown = mona.get("/attention/?state=acknowledged", HTTP_HX_REQUEST="true").content.decode()
    assert _rows(shown) == [("sla", "hartwell")] and "Acknowledged by" in shown
    with tenant_context(hartwell):
        event = AuditEvent.objects.order_by("-sequence").first()
        assert event is not None and event.event == "portal.attention.acknowledged"
        assert event.actor_id == str(people["mona"].pk) and event.payload["item_id"] == str(ticket)
        assert verify().ok
    with tenant_context(dearborn):
        assert AuditEvent.objects.count() == dearborn_events  # nothing written into another client's chain


def test_snooze_hides_until_the_time_and_a_new_occurrence_is_not_hidden(as_user: Any, both: Any, hartwell: Any) -> None:
    mona = as_user("mona", "public")
    connector = both["hartwell"]["connector"]
    key = f"hartwell|connector|{connector.pk}"
    answer = mona.post("/attention/act/", {"action": "snooze", "snooze": "1d", "item": [key]})
    assert answer.status_code == 302
    mark = AttentionMark.objects.get(item_id=str(connector.pk))
    assert mark.snoozed_until is not None and mark.snoozed_until > timezone.now() + timedelta(hours=23)
    assert ("connector", "hartwell") not in _rows(mona.get("/").content.decode())
    with tenant_context(hartwell):  # it recovers, then fails again: a new occurrence shows
        ConnectorEvent.objects.create(connector=connector, kind=EventKind.HEALTH, summary="Healthy (answered in 3 ms)")
        ConnectorEvent.objects.create(connector=connector, kind=EventKind.HEALTH, summary="Down: again")
    snapshot.refresh()  # what beat does every 15 s
    assert ("connector", "hartwell") in _rows(mona.get("/").content.decode())


def test_retry_stores_a_fixed_payload_and_keeps_a_broken_one_with_its_new_reason(
    as_user: Any, both: Any, hartwell: Any
) -> None:
    with tenant_context(hartwell):
        source = both["hartwell"]["quarantined"].source
        body = json.dumps({"external_id": "HW-77", "title": "Locked out", "body": "Help"}).encode()
        fixed = services.quarantine(
            source=source, raw=body, error="Could not be stored: OperationalError", content_type="application/json"
        )
    broken = both["hartwell"]["quarantined"]
    answer = as_user("mona", "public").post(
        "/attention/act/",
        {"action": "retry", "item": [f"hartwell|quarantine|{fixed.pk}", f"hartwell|quarantine|{broken.pk}"]},
        HTTP_HX_REQUEST="true",
    )
    text = answer.content.decode()
    assert "Retried 1 item. 1 skipped." in text and "HW portal: Retried " in text
    with tenant_context(hartwell):
        assert Ticket.objects.filter(external_id="HW-77", title="Locked out").exists()
        assert QuarantinedPayload.objects.get(pk=fixed.pk).resolved
        kept = QuarantinedPayload.objects.get(pk=broken.pk)
        assert not kept.resolved and kept.error.startswith("Retried ") and "Before: Invalid JSON" in kept.error
        events = list(AuditEvent.objects.filter(event="portal.quarantine.retried").values_list("payload", flat=True))
        assert sorted(e["ok"] for e in events) == [False, True]


def test_approvals_are_never_decided_from_the_portal(as_user: Any, both: Any, hartwell: Any) -> None:
    approval = both["hartwell"]["approval"]
    answer = as_user("mona", "public").post(
        "/attention/act/", {"action": "approve", "item": [f"hartwell|approval|{approval.pk}"]}
    )
    assert answer.status_code == 302
    with tenant_context(hartwell):
        assert ToolAction.objects.get(pk=approval.pk).status == ActionStatus.AWAITING_APPROVAL
    hx = as_user("mona", "public").post(
        "/attention/act/",
        {"action": "approve", "item": [f"hartwell|approval|{approval.pk}"]},
        HTTP_HX_REQUEST="true",
    )
    assert hx.status_code == 400 and "Unknown action" in hx.content.decode()


def test_a_staff_member_restricted_to_one_client_sees_and_acts_on_only_that_one(
    as_user: Any, both: Any, hartwell: Any, dearborn: Any
) -> None:
    from tests.conftest import browser_for

    tess = User.objects.create_user("tess@bluemesa.example", "pw-12345678-long", is_msp_staff=True)
    Membership.objects.create(user=tess, client=dearborn, role=Role.AGENT)
    client = browser_for(tess, "localhost")
    body = client.get("/").content.decode()
    assert {c for _, c in _rows(body)} == {"dearborn"} and "Hartwell" not in body
    assert _rows(client.get("/attention/?client=hartwell", HTTP_HX_REQUEST="true").content.decode()) == []
    ticket = both["hartwell"]["late"].pk
    answer = client.post(
        "/attention/act/", {"action": "acknowledge", "item": [f"hartwell|sla|{ticket}"]}, HTTP_HX_REQUEST="true"
    )
    assert "Acknowledged 0 items. 1 skipped." in answer.content.decode()
    assert not AttentionMark.objects.filter(item_id=str(ticket)).exists()
    assert client.get(f"/accounts/handoff/to/hartwell/?next=/inbox/t/{ticket}/").status_code == 403


def test_a_viewer_sees_items_but_cannot_act_and_client_users_get_no_queue(
    as_user: Any, both: Any, dearborn: Any
) -> None:
    from tests.conftest import browser_for

    vic = User.objects.create_user("vic@bluemesa.example", "pw-12345678-long", is_msp_staff=True)
    Membership.objects.create(user=vic, client=dearborn, role=Role.VIEWER)
    body = browser_for(vic, "localhost").get("/").content.decode()
    assert _rows(body) and 'data-testid="attention-select"' not in body
    alice = as_user("alice", "public")
    assert 'data-testid="attention"' not in alice.get("/").content.decode()
    assert alice.get("/attention/").status_code == 403
    assert alice.post("/attention/act/", {"action": "acknowledge"}).status_code == 403


def test_the_queue_is_one_query_however_many_items(both: Any, hartwell: Any, people: Any) -> None:
    reach = queue.reachable(people["mona"])
    refresh_attention.apply()  # beat's task: every client's items read into one table
    with CaptureQueriesContext(connection) as few:
        first = queue.read(reach)
    with tenant_context(hartwell):
        source = both["hartwell"]["quarantined"].source
        for n in range(40):
            services.quarantine(source=source, raw=f"bad {n}", error="Invalid JSON")
    connection.set_schema_to_public()  # type: ignore[attr-defined]
    assert queue.read(reach).total == first.total  # until the next refresh, the page shows what beat read
    refresh_attention.apply()
    with CaptureQueriesContext(connection) as many:
        second = queue.read(reach)
    assert second.total == first.total + 40
    statements = [[q["sql"] for q in run.captured_queries if not q["sql"].startswith("SET ")] for run in (few, many)]
    assert [len(s) for s in statements] == [1, 1]  # one statement (the schema switch's SET search_path aside)


def test_a_page_reads_every_client_itself_when_beats_copy_is_stale(both: Any, hartwell: Any, people: Any) -> None:
    reach = queue.reachable(people["mona"])
    refresh_attention.apply()
    before = queue.read(reach)
    with tenant_context(hartwell):
        services.quarantine(source=both["hartwell"]["quarantined"].source, raw="bad", error="Invalid JSON")
    connection.set_schema_to_public()  # type: ignore[attr-defined]
    later = timezone.now() + timedelta(seconds=snapshot.stale_seconds() + 1)  # beat stopped a while ago
    after = queue.read(reach, now=later)
    assert after.total == before.total + 1 and after.read_at == later


def test_cards_show_each_clients_figures(as_user: Any, hartwell: Any) -> None:
    now = timezone.now()
    with tenant_context(hartwell):
        source = services.create_source(client=hartwell, kind="webhook", name="Cards", config={})
        for n in range(3):
            ticket = Ticket.objects.create(source=source, external_id=f"card-{n}", title=f"Card {n}")
            Investigation.objects.create(
                ticket=ticket,
                status=InvestigationStatus.DONE,
                verdict=VerdictChoice.AUTO_RESOLVED if n < 2 else VerdictChoice.NEEDS_L2,
                finished_at=now,
            )
        TimeRecord.objects.create(
            ticket=ticket,
            kind=WorkKind.INVESTIGATION,
            worker=Worker.GABY,
            ended_at=now,
            seconds=300,
            billed_minutes=30,
            billable=True,
            state=WriteState.WRITTEN,
        )
        recorded_call(
            hartwell,
            workflow="reply",
            provider_kind="openai",
            provider_name="p",
            model="m",
            prompt_name="x",
            prompt_version=1,
            prompt_hash="h",
            status="ok",
            cost_usd=Decimal("1.25"),
        )
    body = as_user("mona", "public").get("/").content.decode()
    card = body[body.index('data-testid="card-hartwell"') :]
    card = card[: card.index("</dl>")]
    assert 'data-testid="card-resolution">67%' in card and 'data-testid="card-month">3<' in card
    assert 'data-testid="card-billed">0.5 h' in card and 'data-testid="card-spend">$1.25' in card
    assert 'data-testid="card-saved">0.4 h' in card  # 2 resolved x 12 minutes
    assert body.count('class="sparkline"') >= 4  # two per card, two cards


def test_the_hand_off_opens_the_exact_page_and_only_a_local_one(as_user: Any, both: Any) -> None:
    from urllib.parse import parse_qs, urlsplit

    ticket = both["hartwell"]["escalated"].pk
    mona = as_user("mona", "public")
    for asked, lands in (
        (f"/inbox/t/{ticket}/", f"/inbox/t/{ticket}/"),
        ("https://evil.example/", "/"),
        ("//evil", "/"),
    ):
        jump = mona.get("/accounts/handoff/to/hartwell/", {"next": asked})
        token = parse_qs(urlsplit(jump["Location"]).query)["token"][0]
        landed = as_user(None, "hartwell").get(
            "/accounts/handoff/accept/", {"token": token}, HTTP_HOST="hartwell.localhost"
        )
        assert landed.status_code == 302 and landed["Location"] == lands


def test_the_cards_are_five_queries_however_many_rows(hartwell: Any, dearborn: Any) -> None:
    """Four statements over every schema and one rollup query, whatever the clients hold; the sparklines and the
    month's counts come from the same grouped statements."""
    from apps.portal.cards import cards

    def counted() -> tuple[int, list[Any]]:
        connection.set_schema_to_public()  # type: ignore[attr-defined]
        with CaptureQueriesContext(connection) as run:
            made = cards([hartwell, dearborn])
        return len([q for q in run.captured_queries if not q["sql"].startswith("SET ")]), made

    before, _ = counted()
    with tenant_context(hartwell):
        source = services.create_source(client=hartwell, kind="webhook", name="Many", config={})
        for n in range(12):
            ticket = Ticket.objects.create(source=source, external_id=f"many-{n}", title=f"Many {n}")
            Ticket.objects.filter(pk=ticket.pk).update(created_at=timezone.now() - timedelta(days=n * 5))
    after, made = counted()
    assert before == after == 5
    hartwell_card = made[0]
    assert hartwell_card.open_tickets >= 12 and sum(hartwell_card.tickets_per_day) == 6  # days 0, 5, ... 25
