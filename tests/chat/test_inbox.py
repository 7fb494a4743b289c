"""§8.3: live chat conversations in the unified inbox (one listing mechanism with tickets), live rows and the
handoff notice over the shell's group, the handoff email when nobody is online, and the evidence an operator
sees when taking a conversation over."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from apps.accounts.models import Membership, Role
from apps.agent.models import Investigation
from apps.agent.runtime import settings_for
from apps.chat import presence, services
from apps.chat.models import ChatMessage, Conversation, ConversationState
from apps.chat.tasks import notify_handoff
from apps.chat.widgets import Identity
from apps.tickets import inbox
from apps.tickets import services as tickets
from apps.tickets.models import TicketSource
from apps.tickets.normalized import NormalizedMessage, NormalizedTicket
from gaby_site.celery import app
from tests.chat.conftest import ChatWorld
from tests.tickets.test_live_and_polling import Listener

pytestmark = pytest.mark.django_db


def _chat(widget: Any, text: str, *, name: str = "", state: str = "") -> Conversation:
    conversation, _ = services.start_conversation(widget=widget, identity=Identity(name=name), origin="http://x")
    services.post_visitor_message(conversation=conversation, body=text)
    if state:
        Conversation.objects.filter(pk=conversation.pk).update(state=state)
        conversation.refresh_from_db()
    return conversation


def _ticket(title: str) -> Any:
    source = TicketSource.objects.filter(name="CRM").first() or tickets.create_source(
        client=connection.tenant, kind="webhook", name="CRM", config={"secret": "s"}
    )
    normalized = NormalizedTicket(f"T-{title}", title, messages=(NormalizedMessage(f"m-{title}", "details"),))
    return tickets.ingest_ticket(source=source, normalized=normalized).ticket


def _rows(html: str, testid: str) -> int:
    return html.count(f'data-testid="{testid}"')


@pytest.fixture
def seeded(chat_world: ChatWorld, hartwell: Any) -> dict[str, Any]:
    with tenant_context(hartwell):
        widget = chat_world.hartwell_widget
        return {
            "ticket": _ticket("Printer jammed"),
            "bot": _chat(widget, "Where is my invoice?", name="Ann Visitor"),
            "waiting": _chat(widget, "My printer is on fire", name="Wes Waiting", state=ConversationState.WAITING),
            "closed": _chat(widget, "Thanks, bye", name="Cleo Closed", state=ConversationState.CLOSED),
            "silent": services.start_conversation(widget=widget, identity=Identity(name="Sid Silent"), origin="")[0],
        }


def test_the_inbox_lists_conversations_beside_tickets_with_badges_state_and_last_message(
    seeded: dict[str, Any], as_user: Any
) -> None:
    page = as_user("bob", "hartwell").get("/inbox/").content.decode()
    assert _rows(page, "ticket-row") == 1 and _rows(page, "chat-inbox-row") == 2  # active: closed ones hidden
    assert "Sid Silent" not in page, "a widget opened without a word is not a conversation anyone needs to see"
    waiting = seeded["waiting"]
    assert f'id="inbox-conv-{waiting.pk}"' in page and f'href="/chat/c/{waiting.pk}/"' in page
    assert ">Chat</span>" in page and "Waiting for a person" in page and "Hartwell Helper answering" in page
    assert "Wes Waiting: My printer is on fire" in page and "waiting " in page
    # newest activity first, across both kinds: the conversations were written after the ticket
    assert page.index("Wes Waiting") < page.index("Ann Visitor") < page.index("Printer jammed")
    assert 'data-live="ticket chat-bot chat-waiting chat-human"' in page  # live rows it takes: no closed chat
    assert 'data-testid="inbox-chat-presence"' in page  # having the inbox open marks the operator online


def test_filters_take_chats_in_or_leave_them_out(seeded: dict[str, Any], as_user: Any) -> None:
    bob = as_user("bob", "hartwell")

    def count(query: str) -> tuple[int, int]:
        html = bob.get(f"/inbox/?{query}").content.decode()
        return _rows(html, "ticket-row"), _rows(html, "chat-inbox-row")

    assert count("source=chat") == (0, 2)
    assert count("status=needs_human") == (0, 1)
    assert count("status=closed") == (0, 1)
    assert count("status=") == (1, 3)
    assert count(f"source={seeded['ticket'].source_id}") == (1, 0)
    assert count("priority=normal") == (1, 0)
    assert count("q=printer") == (1, 1)  # the ticket's title, the conversation's message
    assert count("q=Ann") == (0, 1)  # the visitor's name
    assert 'data-live="chat-waiting"' in bob.get("/inbox/?status=needs_human").content.decode()
    assert 'data-live="ticket"' in bob.get("/inbox/?q=printer").content.decode()  # a chat row might not match


def test_assignee_filters_follow_the_operator_who_took_over(
    seeded: dict[str, Any], as_user: Any, hartwell: Any, people: Any
) -> None:
    with tenant_context(hartwell):
        services.take_over(conversation=seeded["waiting"], user=people["bob"])
    bob = as_user("bob", "hartwell")
    mine = bob.get("/inbox/?assignee=me").content.decode()
    assert _rows(mine, "chat-inbox-row") == 1 and "Operator" in mine and people["bob"].display_name in mine
    assert _rows(bob.get("/inbox/?assignee=none&source=chat").content.decode(), "chat-inbox-row") == 1


def test_pages_merge_tickets_and_chats_with_a_constant_query_count(
    chat_world: ChatWorld, hartwell: Any, as_user: Any, monkeypatch: Any, django_assert_max_num_queries: Any
) -> None:
    monkeypatch.setattr(inbox, "PAGE_SIZE", 4)
    with tenant_context(hartwell):
        made = [_chat(chat_world.hartwell_widget, f"question {i}", name=f"V{i}") for i in range(5)]
        made += [_ticket(f"Ticket {i}") for i in range(2)]
    bob = as_user("bob", "hartwell")
    seen: list[str] = []
    url = "/inbox/?status="
    while url:
        page = bob.get(url).context["page"]
        seen += [str(row.pk) for row in page.rows]
        url = f"/inbox/?status=&after={page.next_cursor}" if page.next_cursor else ""
    assert sorted(seen) == sorted(str(x.pk) for x in made) and len(seen) == 7  # no row lost or repeated

    monkeypatch.setattr(inbox, "PAGE_SIZE", 50)
    with CaptureQueriesContext(connection) as captured:
        assert _rows(bob.get("/inbox/?status=").content.decode(), "chat-inbox-row") == 5
    with_five = len(captured)  # counted now: a capture reads the connection's log, which later requests reset
    assert 10 < with_five < 40, with_five
    with tenant_context(hartwell):
        for i in range(45):
            _chat(chat_world.hartwell_widget, f"more {i}", name=f"W{i}")
    with django_assert_max_num_queries(with_five):  # 50 conversations, 2 tickets: a page of the newest 50
        page = bob.get("/inbox/?status=").content.decode()
    assert (_rows(page, "chat-inbox-row"), _rows(page, "ticket-row")) == (48, 2)


def test_ownership_viewers_and_another_client(
    seeded: dict[str, Any], as_user: Any, people: Any, chat_world: ChatWorld, dearborn: Any
) -> None:
    assert as_user("carol", "hartwell").get("/inbox/?source=chat").status_code == 403
    with tenant_context(dearborn):
        _chat(chat_world.dearborn_widget, "Dearborn question", name="Dora Dearborn")
    theirs = as_user("carol", "dearborn").get("/inbox/?status=").content.decode()
    assert "Dora Dearborn" in theirs and "Wes Waiting" not in theirs and "Ann Visitor" not in theirs
    assert as_user("carol", "dearborn").get(f"/chat/c/{seeded['waiting'].pk}/").status_code == 404

    Membership.objects.filter(user=people["bob"], client__schema_name="hartwell").update(role=Role.VIEWER)
    viewer = as_user("bob", "hartwell")
    assert _rows(viewer.get("/inbox/").content.decode(), "chat-inbox-row") == 2  # viewers read
    page = viewer.get(f"/chat/c/{seeded['waiting'].pk}/").content.decode()
    assert 'data-testid="take-over"' not in page
    assert viewer.post(f"/chat/c/{seeded['waiting'].pk}/take-over/").status_code == 403  # and never write


def test_rows_and_the_handoff_notice_reach_the_clients_live_group_only(
    chat_world: ChatWorld, hartwell: Any, people: Any, django_capture_on_commit_callbacks: Any
) -> None:
    in_hartwell, in_dearborn = Listener("hartwell"), Listener("dearborn")
    with tenant_context(hartwell), django_capture_on_commit_callbacks(execute=True):
        conversation = _chat(chat_world.hartwell_widget, "How do I reset my VPN?", name="Lia Live")
    with tenant_context(hartwell), django_capture_on_commit_callbacks(execute=True):
        presence.presence_seen(user_id=people["bob"].pk, channel_name="test-operator-online")
        services.request_handoff(client=hartwell, conversation=conversation, reason="asked")
    events = in_hartwell.collect(30, timeout=1)  # one event loop per listener: the Redis layer buffers per loop
    handoff = next(i for i, e in enumerate(events) if e.get("event") == "handoff")
    events, after = events[:handoff], events[handoff:]
    inserted = [e for e in events if e.get("swap") == "afterbegin" and "inbox-rows" in e["target"]]
    assert inserted and f'id="inbox-conv-{conversation.pk}"' in inserted[0]["html"]
    assert inserted[0]["target"] == '#inbox-rows[data-live~="chat-bot"]'
    assert "How do I reset my VPN?" in inserted[0]["html"]
    assert {"type": "swap", "target": f"#inbox-conv-{conversation.pk}", "swap": "delete", "html": ""} in events

    [toast] = [e for e in after if e.get("event") == "handoff"]
    assert toast["target"] == "#messages" and toast["swap"] == "beforeend"
    assert "Lia Live asks for a person" in toast["html"] and f"/chat/c/{conversation.pk}/" in toast["html"]
    [row] = [e for e in events + after if e.get("target") == '#inbox-rows[data-live~="chat-waiting"]']
    assert "Waiting for a person" in row["html"]
    assert in_dearborn.collect(1, timeout=0.5) == []
    assert not mail.outbox, "someone is online: no email"


@pytest.fixture
def eager_tasks() -> Iterator[None]:
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


def test_nobody_online_emails_the_escalation_recipients_once(
    chat_world: ChatWorld,
    hartwell: Any,
    people: Any,
    eager_tasks: None,
    django_capture_on_commit_callbacks: Any,
    settings: Any,
) -> None:
    with tenant_context(hartwell):
        conversation = _chat(chat_world.hartwell_widget, "Is anyone there?", name="Nia Nobody")
        for _ in range(2):
            with django_capture_on_commit_callbacks(execute=True):
                assert services.request_handoff(client=hartwell, conversation=conversation, reason="asked") is False
    [message] = mail.outbox
    assert people["alice"].email in message.to and people["carol"].email not in message.to  # no address: Admins
    assert "Nia Nobody asks for a person" in message.subject and "Nia Nobody: Is anyone there?" in message.body
    assert f"/chat/c/{conversation.pk}/" in message.body

    with tenant_context(hartwell):
        row = settings_for()
        row.escalation_email = "oncall@hartwell.example"
        row.save()
        mail.outbox.clear()
        assert notify_handoff.run(str(conversation.pk)) == "sent"
        assert mail.outbox[0].to == ["oncall@hartwell.example"]
        settings.HTTPS, settings.PUBLIC_PORT = True, 8123  # behind TLS the link is the public one, not the app's port
        mail.outbox.clear()
        assert notify_handoff.run(str(conversation.pk)) == "sent"
        assert f"https://{hartwell.slug}." in mail.outbox[0].body and ":8123/" not in mail.outbox[0].body
        Conversation.objects.filter(pk=conversation.pk).update(state=ConversationState.HUMAN)
        assert notify_handoff.run(str(conversation.pk)) == "taken"
        assert notify_handoff.run("0190a3c4-0000-7000-8000-000000000000") == "gone"


def test_the_operator_sees_the_transcript_and_what_gaby_used(
    chat_world: ChatWorld, hartwell: Any, as_user: Any
) -> None:
    with tenant_context(hartwell):
        conversation = _chat(chat_world.hartwell_widget, "How do I reset a user's VPN password?")
        services.post_gaby_message(
            conversation=conversation,
            body="Open the admin portal [1].",
            mode="knowledge",
            citations=[{"n": 1, "label": "VPN runbook § Reset", "url": "", "document": "VPN runbook"}],
            confidence=0.83,
        )
        services.post_gaby_message(conversation=conversation, body="I couldn't find that.", confidence=0.1)
    bob = as_user("bob", "hartwell")
    page = bob.get(f"/chat/c/{conversation.pk}/").content.decode()
    assert "How do I reset a user&#x27;s VPN password?" in page and "Open the admin portal [1]." in page
    assert 'data-testid="evidence-passage"' in page and "VPN runbook § Reset" in page and "confidence 0.83" in page
    assert "1 answer cited no source." in page

    with tenant_context(hartwell):
        ticket = services.create_ticket(conversation=conversation, email="visitor@example.com")
        if not Investigation.objects.filter(ticket=ticket).exists():
            Investigation.objects.create(ticket=ticket)
        Investigation.objects.filter(ticket=ticket).update(summary="Checked the VPN gateway: the account is locked.")
        assert ChatMessage.objects.filter(conversation=conversation).count() >= 4
    page = bob.get(f"/chat/c/{conversation.pk}/").content.decode()
    assert 'data-testid="evidence-investigation"' in page and "the account is locked" in page


def test_the_inbox_works_without_the_chat_app(seeded: dict[str, Any], as_user: Any) -> None:
    provider = inbox.unregister("chat")
    try:
        page = as_user("bob", "hartwell").get("/inbox/?source=chat").content.decode()
        assert _rows(page, "ticket-row") == 1 and _rows(page, "chat-inbox-row") == 0  # unknown source: all
        assert 'value="chat"' not in page and "inbox-chat-presence" not in page
    finally:
        assert provider is not None
        inbox.register(provider)


def test_a_chat_whose_visitor_left_closes_and_one_a_person_has_stays_open(
    seeded: dict[str, Any], hartwell: Any, settings: Any
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from apps.chat.tasks import close_idle_conversations

    settings.CHAT_IDLE_CLOSE_MINUTES = 30
    long_ago = timezone.now() - timedelta(hours=2)
    chat_widget = seeded["bot"].widget
    with tenant_context(hartwell):
        Conversation.objects.update(last_message_at=long_ago)
        _chat(chat_widget, "Still here?", name="Fay Fresh")
    assert close_idle_conversations.apply().get() == 2  # the quiet "answering" chats: Ann's and Sid's
    with tenant_context(hartwell):
        states = {c.visitor_name: c.state for c in Conversation.objects.filter(widget=chat_widget)}
        assert states["Ann Visitor"] == states["Sid Silent"] == ConversationState.CLOSED
        assert states["Wes Waiting"] == ConversationState.WAITING  # a person is coming: it stays theirs
        assert states["Fay Fresh"] == ConversationState.BOT
        note = ChatMessage.objects.filter(conversation=seeded["bot"]).last()
        assert note is not None and note.body == "Closed after 30 minutes without a message."
    assert close_idle_conversations.apply().get() == 0  # nothing twice


def test_a_message_to_a_chat_the_sweep_closed_meanwhile_is_refused(seeded: dict[str, Any], hartwell: Any) -> None:
    with tenant_context(hartwell):
        stale = Conversation.objects.get(pk=seeded["bot"].pk)  # as the visitor's socket read it
        Conversation.objects.filter(pk=stale.pk).update(state=ConversationState.CLOSED)  # the idle sweep, meanwhile
        with pytest.raises(services.ChatError, match="closed"):
            services.post_visitor_message(conversation=stale, body="Still there?")
        assert not ChatMessage.objects.filter(conversation=stale, body="Still there?").exists()


def test_a_new_slack_conversation_appears_live_in_an_inbox_filtered_to_slack(
    chat_world: ChatWorld, hartwell: Any, as_user: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from apps.chat.surfaces import routing
    from apps.chat.surfaces.base import Inbound, receive

    page = as_user("bob", "hartwell").get("/inbox/?source=chat-slack").content.decode()
    assert 'data-live="chat-slack-bot chat-slack-waiting chat-slack-human"' in page
    listener = Listener("hartwell")
    with tenant_context(hartwell):
        routing.install(client=hartwell, kind="slack", workspace_id="T0LIVE", display_name="H", bot_token="xoxb-x")
        inbound = Inbound(
            surface="slack",
            workspace_id="T0LIVE",
            conversation_key="T0LIVE:D0ANN:",
            delivery_id="Ev-live-1",
            user_id="U0ANN",
            user_email="ann@acme.test",
            user_name="Ann Slack",
            text="Where is my invoice?",
            is_direct=True,
        )
        with django_capture_on_commit_callbacks(execute=True):
            assert receive(inbound, queue_answer=False).outcome == "queued"
    events = listener.collect(10, timeout=1)
    inserted = {e["target"]: e["html"] for e in events if e.get("swap") == "afterbegin" and "inbox-rows" in e["target"]}
    assert set(inserted) == {'#inbox-rows[data-live~="chat-bot"]', '#inbox-rows[data-live~="chat-slack-bot"]'}
    assert "Ann Slack" in inserted['#inbox-rows[data-live~="chat-slack-bot"]']
    assert 'data-live="chat-teams-bot chat-teams-waiting chat-teams-human"' in (
        as_user("bob", "hartwell").get("/inbox/?source=chat-teams").content.decode()
    )  # a Teams-filtered page carries Teams tokens only: the Slack row's targets miss it
