"""Investigation pages: list, detail with timeline, one-click apply of the drafted reply, evidence, re-run, settings."""

from __future__ import annotations

import json
from typing import Any

import pytest

from apps.accounts.models import Membership, Role
from apps.agent.models import AgentSettings, Investigation, InvestigationStatus, InvestigationStep
from apps.auditlog.models import AuditEvent
from apps.knowledge.models import KBCandidate
from apps.tickets.models import Message, MessageKind

CITATION = {"kind": "knowledge", "ref": "c1", "label": "VPN runbook > Reset", "excerpt": "open self-service", "url": ""}


@pytest.fixture
def drafted(make_ticket: Any) -> Investigation:
    ticket = make_ticket(title="VPN password", body="How do I reset my VPN password?")
    investigation = Investigation.objects.create(
        ticket=ticket,
        status=InvestigationStatus.DONE,
        verdict="auto_resolved",
        confidence=0.82,
        decided_by="knowledge",
        summary="Answered from the VPN runbook.",
        reply="Open the self-service page [1].",
        reply_state="drafted",
        citations=[CITATION],
        autonomy="propose",
    )
    InvestigationStep.objects.create(
        investigation=investigation, ordinal=1, kind="read", system="ticket", title="Read the ticket"
    )
    InvestigationStep.objects.create(
        investigation=investigation,
        ordinal=2,
        kind="read",
        system="knowledge",
        title="Found 1 passage",
        citations=[CITATION],
    )
    return investigation


def test_the_list_shows_verdicts_and_filters(as_user: Any, drafted: Investigation) -> None:
    bob = as_user("bob", "hartwell")
    page = bob.get("/investigations/").content.decode()
    assert f'data-id="{drafted.pk}"' in page and "Resolved by Gaby" in page and "knowledge" in page
    none = bob.get("/investigations/?verdict=needs_l2", HTTP_HX_REQUEST="true").content.decode()
    assert 'data-testid="investigation-row"' not in none and "No investigations match" in none
    assert f'data-id="{drafted.pk}"' in bob.get("/investigations/?q=vpn").content.decode()


def test_the_detail_shows_the_timeline_citations_and_the_draft(as_user: Any, drafted: Investigation) -> None:
    page = as_user("bob", "hartwell").get(f"/investigations/{drafted.pk}/").content.decode()
    assert page.count('data-testid="investigation-step"') == 2
    assert f'id="investigation-{drafted.pk}-steps"' in page  # where live steps are appended
    assert "VPN runbook &gt; Reset" in page and 'data-testid="apply-reply"' in page
    assert 'hx-trigger="every 2s"' not in page  # finished: no polling


def test_applying_an_edited_draft_sends_it_once(as_user: Any, drafted: Investigation) -> None:
    bob = as_user("bob", "hartwell")
    response = bob.post(
        f"/investigations/{drafted.pk}/apply/", {"reply": "Edited: use the self-service page."}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200 and "Draft applied by an operator" in response.content.decode()
    sent = Message.objects.filter(ticket=drafted.ticket, kind=MessageKind.PUBLIC_REPLY, direction="outbound")
    assert [m.body for m in sent] == ["Edited: use the self-service page."]
    correction = KBCandidate.objects.get(origin_ref=str(drafted.pk))  # the operator's edit is worth learning
    assert (correction.origin_kind, correction.title) == ("correction", "VPN password")
    assert correction.body.startswith("Edited: use the self-service page.")
    again = bob.post(f"/investigations/{drafted.pk}/apply/", {"reply": "twice"}, HTTP_HX_REQUEST="true")
    assert again.status_code == 409 and "nothing to apply" in again.content.decode()
    assert sent.count() == 1
    assert AuditEvent.objects.filter(event="investigation.reply_applied").count() == 1


def test_discarding_keeps_the_customer_out_of_it(as_user: Any, drafted: Investigation) -> None:
    bob = as_user("bob", "hartwell")
    assert bob.post(f"/investigations/{drafted.pk}/discard/").status_code == 302
    drafted.refresh_from_db()
    assert drafted.reply_state == "discarded"
    assert not Message.objects.filter(ticket=drafted.ticket, direction="outbound").exists()


def test_the_evidence_bundle_downloads_as_json(as_user: Any, drafted: Investigation) -> None:
    response = as_user("bob", "hartwell").get(f"/investigations/{drafted.pk}/evidence.json")
    bundle = json.loads(response.content)
    assert response["Content-Disposition"].startswith("attachment")
    assert [step["title"] for step in bundle["timeline"]] == ["Read the ticket", "Found 1 passage"]
    assert bundle["citations"] == [CITATION]


def test_rerun_and_investigate_queue_a_new_run(as_user: Any, drafted: Investigation) -> None:
    bob = as_user("bob", "hartwell")
    response = bob.post(f"/investigations/{drafted.pk}/rerun/", {"depth": "deep"})
    again = Investigation.objects.exclude(pk=drafted.pk).get()
    assert response.status_code == 302 and response.url.endswith(f"/investigations/{again.pk}/")
    assert (again.status, again.depth, again.triggered_by) == ("queued", "deep", "rerun")
    running = bob.get(f"/investigations/{again.pk}/").content.decode()
    assert 'hx-trigger="every 2s"' in running and 'data-testid="running"' in running
    busy = bob.post(f"/investigations/{again.pk}/rerun/")
    assert busy.status_code == 409 and "already running" in busy.content.decode()
    joined = bob.post(f"/investigations/ticket/{drafted.ticket_id}/start/")
    assert joined.url.endswith(f"/investigations/{again.pk}/")  # one active investigation per ticket
    assert bob.post(f"/investigations/{drafted.pk}/rerun/", {"depth": "bottomless"}).status_code == 400


def test_viewers_read_and_other_clients_get_nothing(
    as_user: Any, drafted: Investigation, hartwell: Any, people: dict[str, Any]
) -> None:
    Membership.objects.filter(user=people["bob"], client=hartwell).update(role=Role.VIEWER)
    viewer = as_user("bob", "hartwell")
    page = viewer.get(f"/investigations/{drafted.pk}/").content.decode()
    assert 'data-testid="apply-reply"' not in page and 'data-testid="reply"' in page
    assert viewer.post(f"/investigations/{drafted.pk}/apply/", {"reply": "x"}).status_code == 403
    assert as_user("carol", "hartwell").get("/investigations/").status_code == 403
    dearborn = as_user("carol", "dearborn")
    for path in ("/", "/evidence.json", "/outcome/"):
        assert dearborn.get(f"/investigations/{drafted.pk}{path}").status_code == 404
    assert dearborn.post(f"/investigations/{drafted.pk}/apply/", {"reply": "x"}).status_code == 404


def test_settings_are_admin_only_and_say_what_to_fix(as_user: Any, in_hartwell: Any, people: dict[str, Any]) -> None:
    alice = as_user("alice", "hartwell")
    form = {
        "auto_investigate": "on",
        "default_depth": "quick",
        "tone": "formal",
        "knowledge_threshold": "1.5",
        "max_tokens": "20000",
        "max_usd": "0.25",
        "escalation_assignee_id": str(people["bob"].pk),
        "escalation_email": "l2@hartwell.example",
    }
    bad = alice.post("/investigations/settings/", form)
    assert bad.status_code == 400 and "between 0 and 1" in bad.content.decode()
    assert alice.post("/investigations/settings/", {**form, "knowledge_threshold": "0.7"}).status_code == 302
    row = AgentSettings.objects.get()
    assert (row.default_depth, row.tone, row.knowledge_threshold, row.escalation_assignee_id) == (
        "quick",
        "formal",
        0.7,
        people["bob"].pk,
    )
    assert AuditEvent.objects.filter(event="investigation.settings_changed").exists()
    assert as_user("bob", "hartwell").post("/investigations/settings/", form).status_code == 403


def test_the_detail_shows_who_asked_the_kind_and_the_flags(as_user: Any, make_ticket: Any) -> None:
    """What the engine stores (apps/agent/triage.py Assessment.as_dict), as an operator reads it; escaped."""
    from apps.agent.triage import Assessment, TicketKind
    from apps.safety.requester import Requester
    from apps.safety.suspicion import Flag

    assessment = Assessment(
        requester=Requester(email="mallory@evil.example", authentication="spf=pass dkim=pass dmarc=fail"),
        kind=TicketKind.SUSPICIOUS,
        why="sender unverified",
        flags=[Flag("payload", "“<script>x</script>”")],
        on_behalf_of_other="names jane.doe@acme.test",
    )
    investigation = Investigation.objects.create(
        ticket=make_ticket(title="locked"),
        status=InvestigationStatus.DONE,
        verdict="needs_l2",
        decided_by="triage",
        escalation_reason="Flagged as suspicious",
        assessment=assessment.as_dict(),
    )
    page = as_user("bob", "hartwell").get(f"/investigations/{investigation.pk}/").content.decode()
    assert "mallory@evil.example" in page and "dmarc=fail" in page
    assert 'data-kind="suspicious"' in page and "another person: names jane.doe@acme.test" in page
    assert 'data-flag="payload"' in page and "<script>x</script>" not in page and "&lt;script&gt;" in page
