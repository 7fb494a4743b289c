"""SRC-5: the unified inbox and ticket pages, with ownership: only members see, only agents write."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from apps.accounts.models import Membership, Role
from apps.auditlog.models import AuditEvent
from apps.tickets import inbox, services
from apps.tickets.models import Contact, Message, QuarantinedPayload, Status, Ticket
from apps.tickets.normalized import NormalizedContact, NormalizedMessage, NormalizedTicket

pytestmark = pytest.mark.django_db


def _seed(hartwell: Any, make_source: Any, count: int = 3) -> list[Ticket]:
    email = make_source(kind="email", name="Support mailbox")
    hook = make_source(kind="webhook", name="CRM", secret="s")
    tickets = []
    with tenant_context(hartwell):
        for i in range(count):
            source = email if i % 2 == 0 else hook
            normalized = NormalizedTicket(
                external_id=f"T-{i}",
                title=f"Printer {i} jammed" if i % 2 == 0 else f"VPN {i} drops",
                body="details",
                contact=NormalizedContact(email=f"user{i}@client.example"),
                priority="urgent" if i == 0 else "normal",
                sla_due_at=datetime.now(UTC) + timedelta(hours=1 + i),
                messages=(NormalizedMessage(external_id=f"m-{i}", body=f"body {i}"),),
            )
            tickets.append(services.ingest_ticket(source=source, normalized=normalized).ticket)
    return tickets


def test_inbox_lists_every_source_with_badges(as_user: Any, hartwell: Any, make_source: Any) -> None:
    _seed(hartwell, make_source)
    body = as_user("bob", "hartwell").get("/inbox/").content.decode()
    assert body.count('data-testid="ticket-row"') == 3
    assert "Support mailbox" in body and "CRM" in body and "Urgent" in body and "left" in body


def test_filters_and_full_text_search(as_user: Any, hartwell: Any, make_source: Any, people: Any) -> None:
    tickets = _seed(hartwell, make_source, 4)
    bob = as_user("bob", "hartwell")
    assert bob.get("/inbox/?q=printers").content.decode().count('data-testid="ticket-row"') == 2
    assert bob.get("/inbox/?priority=urgent").content.decode().count('data-testid="ticket-row"') == 1
    with tenant_context(hartwell):
        services.assign(ticket=tickets[1], assignee_id=people["bob"].pk)
        services.change_status(ticket=tickets[2], status=Status.SOLVED)
    mine = bob.get("/inbox/?assignee=me").content.decode()
    assert mine.count('data-testid="ticket-row"') == 1 and "Bob Ng" in mine
    assert bob.get("/inbox/").content.decode().count('data-testid="ticket-row"') == 3  # active only by default
    assert bob.get("/inbox/?status=solved").content.decode().count('data-testid="ticket-row"') == 1
    partial = bob.get("/inbox/?q=vpn", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="inbox-results").content.decode()
    assert partial.startswith('\n<section id="inbox-results"') and "<html" not in partial


def test_keyset_pages_keep_a_constant_query_count(
    as_user: Any, hartwell: Any, make_source: Any, monkeypatch: Any
) -> None:
    monkeypatch.setattr(inbox, "PAGE_SIZE", 3)  # 7 tickets: pages of 3, 3 and 1
    tickets = _seed(hartwell, make_source, 7)
    with tenant_context(hartwell):  # contacts known only by the source's id (webhooks): labelled by that id
        for i, ticket in enumerate(tickets):
            Contact.objects.filter(pk=ticket.contact_id).update(email="", name="", external_id=f"crm-contact-{i}")
    labels = {t.pk: f"crm-contact-{i}" for i, t in enumerate(tickets)}
    bob = as_user("bob", "hartwell")
    counts = []
    seen: list[str] = []
    url = "/inbox/?status="
    for _ in range(4):
        with CaptureQueriesContext(connection) as queries:
            response = bob.get(url)
        counts.append(len(queries))
        page = response.context["page"]
        seen += [str(row.pk) for row in page.rows]
        assert all(labels[row.pk] in response.content.decode() for row in page.rows)
        if not page.next_cursor:
            break
        url = f"/inbox/?status=&after={page.next_cursor}"
    assert sorted(seen) == sorted(str(t.pk) for t in tickets)
    assert len(counts) == 3 and len(set(counts)) == 1, counts


def test_detail_reply_note_status_assign_and_tags(
    as_user: Any, hartwell: Any, make_source: Any, people: Any, django_capture_on_commit_callbacks: Any
) -> None:
    ticket = _seed(hartwell, make_source, 1)[0]
    bob = as_user("bob", "hartwell")
    page = bob.get(f"/inbox/t/{ticket.pk}/").content.decode()
    assert 'data-testid="reply-form"' in page and "body 0" in page
    response = bob.post(
        f"/inbox/t/{ticket.pk}/reply/", {"body": "Checking now.", "kind": "internal_note"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200 and "Checking now." in response.content.decode()
    empty = bob.post(f"/inbox/t/{ticket.pk}/reply/", {"body": "", "kind": "public_reply"}, HTTP_HX_REQUEST="true")
    assert empty.status_code == 400 and "Write a reply or a note" in empty.content.decode()
    assert bob.post(f"/inbox/t/{ticket.pk}/status/", {"status": "pending", "priority": "high"}).status_code == 302
    bad = bob.post(f"/inbox/t/{ticket.pk}/status/", {"status": "new", "priority": "high"}, HTTP_HX_REQUEST="true")
    assert bad.status_code == 400 and "cannot become new" in bad.content.decode()
    assert bob.post(f"/inbox/t/{ticket.pk}/assign/", {"assignee": str(people["alice"].pk)}).status_code == 302
    assert bob.post(f"/inbox/t/{ticket.pk}/assign/", {"assignee": str(people["carol"].pk)}).status_code == 404
    assert bob.post(f"/inbox/t/{ticket.pk}/tags/", {"tags": "vip, printing"}).status_code == 302
    bad_tags = bob.post(f"/inbox/t/{ticket.pk}/tags/", {"tags": "vip, no spaces"}, HTTP_HX_REQUEST="true")
    assert bad_tags.status_code == 400 and "Not a tag: no spaces (letters, digits" in bad_tags.content.decode()
    too_many = bob.post(f"/inbox/t/{ticket.pk}/tags/", {"tags": ",".join(f"t{i}" for i in range(31))})
    assert too_many.status_code == 400 and "at most 30 tags; you gave 31" in too_many.content.decode()
    with tenant_context(hartwell):
        ticket.refresh_from_db()
        assert (ticket.status, ticket.priority, ticket.assignee_id) == ("pending", "high", people["alice"].pk)
        assert ticket.tags == ["printing", "vip"]
        note = Message.objects.get(body="Checking now.")
        assert (note.kind, note.author_user_id, note.delivery_state) == ("internal_note", people["bob"].pk, "")
        audited = list(AuditEvent.objects.filter(event__startswith="ticket.").order_by("sequence"))
    bob_id, alice_id = str(people["bob"].pk), str(people["alice"].pk)
    assert [(e.event, e.actor_kind, e.actor_id) for e in audited] == [
        ("ticket.replied", "user", bob_id),
        ("ticket.status_changed", "user", bob_id),
        ("ticket.priority_changed", "user", bob_id),
        ("ticket.assigned", "user", bob_id),
        ("ticket.tags_changed", "user", bob_id),
    ]
    replied, status, priority, assigned, tags = (e.payload for e in audited)
    assert replied == {"ticket": str(ticket.pk), "message": str(note.pk), "kind": "internal_note"}  # no body
    assert status["status"] == {"from": "open", "to": "pending"}
    assert priority["priority"] == {"from": "urgent", "to": "high"}
    assert assigned["assignee_id"] == {"from": None, "to": alice_id}
    assert tags["tags"] == {"from": [], "to": ["printing", "vip"]}


def test_viewer_reads_but_never_writes(as_user: Any, hartwell: Any, make_source: Any, people: Any) -> None:
    ticket = _seed(hartwell, make_source, 1)[0]
    Membership.objects.filter(user=people["bob"], client=hartwell).update(role=Role.VIEWER)
    bob = as_user("bob", "hartwell")
    page = bob.get(f"/inbox/t/{ticket.pk}/").content.decode()
    assert page.count("reply-form") == 0 and "status-form" not in page
    for path, data in [
        ("reply", {"body": "x", "kind": "public_reply"}),
        ("status", {"status": "open"}),
        ("assign", {"assignee": ""}),
        ("tags", {"tags": "x"}),
    ]:
        assert bob.post(f"/inbox/t/{ticket.pk}/{path}/", data).status_code == 403
    with tenant_context(hartwell):
        assert Message.objects.count() == 1 and Ticket.objects.get().status == "new"


def test_carol_gets_403_on_every_hartwell_tickets_url(as_user: Any, hartwell: Any, make_source: Any) -> None:
    ticket = _seed(hartwell, make_source, 1)[0]
    with tenant_context(hartwell):
        payload = services.quarantine(source=ticket.source, raw="x", error="e")
        attachment_id = ticket.pk  # any id: the gate answers first
    carol = as_user("carol", "hartwell")
    for path in [
        "/inbox/",
        "/inbox/sources/",
        "/inbox/quarantine/",
        f"/inbox/t/{ticket.pk}/",
        f"/inbox/attachments/{attachment_id}/",
    ]:
        assert carol.get(path).status_code == 403, path
    for path in ["reply", "status", "assign", "tags"]:
        assert carol.post(f"/inbox/t/{ticket.pk}/{path}/", {"body": "x"}).status_code == 403
    assert carol.post(f"/inbox/quarantine/{payload.pk}/resolve/").status_code == 403
    # On her own client's domain, Hartwell's ticket does not exist.
    assert as_user("carol", "dearborn").get(f"/inbox/t/{ticket.pk}/").status_code == 404


def test_quarantine_and_sources_pages(as_user: Any, hartwell: Any, make_source: Any) -> None:
    ticket = _seed(hartwell, make_source, 1)[0]
    with tenant_context(hartwell):
        payload = services.quarantine(source=ticket.source, raw="{broken", error="field 'title': Field required")
        ticket.source.last_error = "IMAP sign-in refused"
        ticket.source.last_status = "failing since 1 poll(s)"
        ticket.source.save()
    bob = as_user("bob", "hartwell")
    assert 'data-testid="quarantine-count">1<' in bob.get("/inbox/").content.decode()
    page = bob.get("/inbox/quarantine/").content.decode()
    assert "field &#x27;title&#x27;: Field required" in page and "{broken" in page
    assert "IMAP sign-in refused" in bob.get("/inbox/sources/").content.decode()
    assert bob.post(f"/inbox/quarantine/{payload.pk}/resolve/").status_code == 302
    with tenant_context(hartwell):
        assert QuarantinedPayload.objects.get().resolved


def test_attachment_download_is_scoped(as_user: Any, hartwell: Any, make_source: Any) -> None:
    from apps.tickets.normalized import NormalizedAttachment

    source = make_source(kind="webhook", name="CRM", secret="s")
    with tenant_context(hartwell):
        attachment = NormalizedAttachment(filename="log.txt", content_type="text/plain", content=b"line 1")
        message = NormalizedMessage(external_id="m", body="see log", attachments=(attachment,))
        result = services.ingest_ticket(source=source, normalized=NormalizedTicket("A-1", "Log", messages=(message,)))
        stored = result.new_messages[0].attachments.get()
    response = as_user("bob", "hartwell").get(f"/inbox/attachments/{stored.pk}/")
    assert response.status_code == 200 and b"".join(response.streaming_content) == b"line 1"
    assert as_user("carol", "dearborn").get(f"/inbox/attachments/{stored.pk}/").status_code == 404


def test_bulk_actions_change_the_ticked_tickets_one_by_one(
    as_user: Any, hartwell: Any, make_source: Any, people: Any
) -> None:
    first, second, third = _seed(hartwell, make_source, count=3)
    with tenant_context(hartwell):
        Ticket.objects.filter(pk=third.pk).update(status=Status.CLOSED)  # closed is final: it cannot reopen
    bob = as_user("bob", "hartwell")
    assert 'data-testid="bulk-form"' in bob.get("/inbox/").content.decode()
    form = {
        "ticket": [str(first.pk), str(second.pk), str(third.pk), "not-an-id"],
        "status": "open",
        "assignee": str(people["bob"].pk),
    }
    back = "http://hartwell.localhost/inbox/?priority=high"  # the page as the user filtered it
    response = bob.post("/inbox/bulk/", form, HTTP_HX_REQUEST="true", HTTP_REFERER=back)
    assert response.status_code == 204 and response["HX-Redirect"] == "/inbox/?priority=high"
    with tenant_context(hartwell):
        rows = {t.pk: t for t in Ticket.objects.all()}
        assert rows[first.pk].status == rows[second.pk].status == Status.OPEN
        assert rows[first.pk].assignee_id == rows[second.pk].assignee_id == people["bob"].pk
        assert rows[third.pk].status == Status.CLOSED and rows[third.pk].assignee_id is None  # all or nothing
        assert AuditEvent.objects.filter(event="ticket.status_changed").count() == 2
    page = bob.get("/inbox/?priority=high").content.decode()
    assert "Updated 2 tickets." in page and "Not changed:" in page
    nothing = bob.post("/inbox/bulk/", {"ticket": [str(first.pk)]}, HTTP_REFERER="https://evil.example/")
    assert nothing.status_code == 302 and nothing["Location"] == "/inbox/"  # no open redirect
    assert "Pick a status, a priority or someone to assign." in bob.get("/inbox/").content.decode()
    stranger = bob.post("/inbox/bulk/", {"ticket": [str(first.pk)], "assignee": str(uuid.uuid4())})
    assert stranger.status_code == 302  # a clear message, not a bare 404 page
    assert "Pick someone from the list to assign." in bob.get("/inbox/").content.decode()
    Membership.objects.filter(user=people["bob"], client=hartwell).update(role=Role.VIEWER)
    assert as_user("bob", "hartwell").post("/inbox/bulk/", form).status_code == 403
    assert as_user("carol", "hartwell").post("/inbox/bulk/", form).status_code == 403


def test_saved_views_count_their_tickets_and_belong_to_their_person(
    as_user: Any, hartwell: Any, make_source: Any, people: Any
) -> None:
    from apps.tickets.models import SavedView

    _, second, _ = _seed(hartwell, make_source, count=3)  # the first is urgent
    with tenant_context(hartwell):
        Ticket.objects.filter(pk=second.pk).update(assignee_id=people["bob"].pk)
    bob = as_user("bob", "hartwell")
    page = bob.get("/inbox/").content.decode()
    counts = {name: page.split(f'data-testid="view-count-{name}">')[1].split("<")[0] for name in ("mine", "urgent")}
    assert counts == {"mine": "1", "urgent": "1"}
    assert 'data-testid="save-view-form"' not in page  # the default inbox is not a view to save
    bad = bob.post("/inbox/views/save/", {"name": "Mine", "query": "q=printer"})
    assert bad.status_code == 302 and "is a built-in view" in bob.get(bad["Location"]).content.decode()
    too_long = bob.post("/inbox/views/save/", {"name": "Long", "query": "q=" + "Принтер " * 25})
    assert too_long.status_code == 302 and "too long to save" in bob.get("/inbox/").content.decode()
    # Filtering redraws only the results: the form that saves the view comes with them, holding the new filters.
    part = bob.get("/inbox/?q=printer", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="inbox-results").content.decode()
    assert 'data-testid="save-view-form"' in part and 'value="status=active&amp;q=printer"' in part
    saved = bob.post("/inbox/views/save/", {"name": "Printers", "query": "q=printer&junk=1"})
    assert saved["Location"] == "/inbox/?status=active&q=printer"
    page = bob.get(saved["Location"]).content.decode()
    assert 'data-testid="view-count-printers">2<' in page  # "Printer 0 jammed" and "Printer 2 jammed"
    assert 'aria-current="page" data-testid="view-printers"' in page
    assert "Printers" not in as_user("alice", "hartwell").get("/inbox/").content.decode()  # bob's own
    with tenant_context(hartwell):
        view = SavedView.objects.get(name="Printers")
    assert as_user("alice", "hartwell").post(f"/inbox/views/{view.pk}/delete/").status_code == 404
    assert bob.post(f"/inbox/views/{view.pk}/delete/").status_code == 302
    with tenant_context(hartwell):
        assert not SavedView.objects.exists()
