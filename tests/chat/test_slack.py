"""The Slack app end to end: signed Events API requests through Django and Bolt, the Slack stand-in over real HTTP
(sandbox/slack.py), real PostgreSQL and Redis; the answer task runs eagerly in Bolt's listener thread."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client as HttpClient

from sandbox.slack import SlackSandbox, sign
from tests.agent.committed import wait_for
from tests.chat.conftest import ChatWorld, clear_conversations

pytestmark = pytest.mark.django_db(transaction=False)
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
EVENTS = "/integrations/slack/events/"


@pytest.fixture(scope="module")
def slack(chat_world: ChatWorld, world: Any, django_db_blocker: Any) -> Iterator[SlackSandbox]:
    from django_tenants.utils import tenant_context

    from apps.chat.models import ChatSurfaceInstall
    from apps.chat.surfaces import routing
    from tenants.models import SurfaceRoute

    sandbox = SlackSandbox()
    sandbox.start()
    hartwell = world.clients["hartwell"]
    with django_db_blocker.unblock():
        routing.install(
            client=hartwell,
            kind="slack",
            workspace_id=sandbox.team["id"],
            display_name=sandbox.team["name"],
            bot_token=sandbox.bot_token,
            bot_user_id=sandbox.bot_user_id,
            channels=["C0HELPDESK"],
        )
    yield sandbox
    sandbox.stop()
    with django_db_blocker.unblock():
        clear_conversations(hartwell)
        with tenant_context(hartwell):
            ChatSurfaceInstall.objects.all().delete()
        SurfaceRoute.objects.all().delete()


@pytest.fixture
def wired(slack: SlackSandbox, settings: Any, lexical_only: None) -> Iterator[SlackSandbox]:
    from gaby_site.celery import app

    settings.SLACK_SIGNING_SECRET = SIGNING_SECRET
    settings.SLACK_API_URL = slack.base_url + "/api/"
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield slack
    app.conf.task_always_eager = previous


def deliver(payload: dict[str, Any], *, retry: int = 0, secret: str = SIGNING_SECRET) -> int:
    body = json.dumps(payload).encode()
    headers = sign(secret, body)
    if retry:
        headers["X-Slack-Retry-Num"] = str(retry)
    response = HttpClient(HTTP_HOST="localhost").post(
        EVENTS, data=body, content_type="application/json", headers=headers
    )
    return int(response.status_code)


def test_slacks_documented_signature_example_verifies() -> None:
    """The example of https://docs.slack.dev/authentication/verifying-requests-from-slack, through the same
    verifier Bolt uses, and our stand-in's signer agrees with it."""
    from slack_sdk.signature import SignatureVerifier

    body = (
        "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
        "&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
        "&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
        "&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
    )
    expected = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
    verifier = SignatureVerifier(SIGNING_SECRET, clock=type("C", (), {"now": lambda self: 1531420618})())
    assert verifier.is_valid(body=body, timestamp="1531420618", signature=expected)
    assert sign(SIGNING_SECRET, body.encode(), 1531420618)["X-Slack-Signature"] == expected


def test_url_verification_and_a_bad_signature(wired: SlackSandbox) -> None:
    challenge = {
        "token": "x",
        "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
        "type": "url_verification",
    }
    body = json.dumps(challenge).encode()
    response = HttpClient(HTTP_HOST="localhost").post(
        EVENTS, data=body, content_type="application/json", headers=sign(SIGNING_SECRET, body)
    )
    assert response.status_code == 200 and challenge["challenge"] in response.content.decode()
    before = len(wired.messages)
    assert deliver(wired.direct_message(user="U0ALICE", text="printer paper jam"), secret="wrong") == 401
    time.sleep(0.5)
    assert len(wired.messages) == before  # nothing processed


def test_a_direct_message_gets_a_cited_answer_in_its_thread_once_despite_a_retry(
    wired: SlackSandbox, hartwell: Any
) -> None:
    from django_tenants.utils import tenant_context

    from apps.chat.models import ChatMessage, Conversation, Surface

    event = wired.direct_message(user="U0ALICE", text="printer paper jam")
    assert deliver(event) == 200
    assert deliver(event, retry=1) == 200  # Slack's retry of the same event_id
    posted = wait_for(lambda: wired.thread("D0ALICE"))
    time.sleep(1.0)  # a second answer, if the retry were answered, would have arrived by now
    answers = wired.thread("D0ALICE")
    assert len(answers) == 1, [m.text for m in answers]
    assert "tray 2" in posted[0].text and "Sources:" in posted[0].text
    with tenant_context(hartwell):
        conversation = Conversation.objects.get(surface=Surface.SLACK, external_key=f"{wired.team['id']}:D0ALICE:")
        assert conversation.visitor_email == "alice@acme.test" and conversation.identity_verified
        gaby = ChatMessage.objects.get(conversation=conversation, role="gaby")
        assert gaby.citations and gaby.external_ref == answers[0].ts


def test_a_mention_is_answered_in_a_listened_channel_only(wired: SlackSandbox) -> None:
    listened = wired.mention(user="U0ALICE", channel="C0HELPDESK", text="Outlook says the mailbox is full")
    deliver(listened)
    reply = wait_for(lambda: wired.thread("C0HELPDESK", listened["event"]["ts"]))
    assert "AutoArchive" in reply[0].text
    unlisted = wired.mention(user="U0ALICE", channel="C0RANDOM", text="Outlook says the mailbox is full")
    deliver(unlisted)
    time.sleep(1.0)
    assert wired.thread("C0RANDOM") == []


def test_a_user_without_an_email_is_refused_politely_and_an_unknown_team_is_refused(wired: SlackSandbox) -> None:
    deliver(wired.direct_message(user="U0NOMAIL", text="printer paper jam"))
    wait_for(lambda: [e for e in wired.ephemerals if e["user"] == "U0NOMAIL"])
    assert wired.thread("D0NOMAIL") == []
    stranger = wired.direct_message(user="U0ALICE", text="printer paper jam")
    stranger["team_id"] = "T0UNKNOWN"
    stranger["authorizations"][0]["team_id"] = "T0UNKNOWN"
    before = len(wired.messages)
    assert deliver(stranger) == 200  # acknowledged (no retries), nothing processed
    time.sleep(0.5)
    assert len(wired.messages) == before


def test_a_handoff_then_the_operators_reply_lands_in_the_thread(
    wired: SlackSandbox, hartwell: Any, people: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from django_tenants.utils import tenant_context

    from apps.chat import services
    from apps.chat.models import Conversation

    event = wired.mention(user="U0ALICE", channel="C0HELPDESK", text="I want to talk to a person please")
    deliver(event)
    thread_ts = event["event"]["ts"]
    wait_for(lambda: wired.thread("C0HELPDESK", thread_ts))
    with tenant_context(hartwell):
        conversation = Conversation.objects.get(external_key=f"{wired.team['id']}:C0HELPDESK:{thread_ts}")
        assert conversation.handoff_requested_at is not None
        with django_capture_on_commit_callbacks(execute=True):  # the posts' tasks leave when the test's writes commit
            services.take_over(conversation=conversation, user=people["bob"])
            conversation.refresh_from_db()
            body = "Hi Alice, Bob here. <!channel> <https://evil.example|reset it here>"
            services.operator_reply(conversation=conversation, user=people["bob"], body=body)
    posts = wait_for(lambda: [m for m in wired.thread("C0HELPDESK", thread_ts) if "Bob here" in m.text])
    assert people["bob"].display_name in posts[0].text
    # Text in a thread is words, never Slack syntax: no @channel ping, no disguised link (escaped as Slack documents).
    section = posts[0].blocks[0]["text"]["text"]
    for shown in (posts[0].text, section):
        assert "&lt;!channel&gt; &lt;https://evil.example|reset it here&gt;" in shown and "<!channel>" not in shown
    [joined] = [m for m in wired.thread("C0HELPDESK", thread_ts) if "joined the chat" in m.text]
    context = [b for b in joined.blocks if b["type"] == "context"]  # the handoff's context line
    assert context and f"*Who will answer:* {people['bob'].display_name}" in context[0]["elements"][0]["text"]
    [asked] = [m for m in wired.thread("C0HELPDESK", thread_ts) if "asked a person" in m.text or "available" in m.text]
    assert "A person from the team" in asked.blocks[1]["elements"][0]["text"]


def test_a_request_becomes_a_ticket_for_the_slack_user_and_the_tickets_public_reply_reaches_the_thread(
    wired: SlackSandbox, hartwell: Any, people: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """A request is not answered from knowledge: it becomes a ticket whose requester is the Slack user, which the
    investigation engine works at once; the colleague it names is a third party (escalated, nothing said in the
    thread); a public reply on the ticket is delivered to the thread by the ticket's chat sink."""
    from django_tenants.utils import tenant_context

    from apps.chat.models import Conversation
    from apps.tickets import services as tickets
    from apps.tickets.models import Message, MessageKind, SourceKind, Ticket

    settings.AGENT_AUTO_INVESTIGATE = True
    event = wired.mention(
        user="U0ALICE", channel="C0HELPDESK", text="Please reset the VPN password of my colleague bob@acme.test"
    )
    deliver(event)
    thread_ts = event["event"]["ts"]
    key = f"{wired.team['id']}:C0HELPDESK:{thread_ts}"

    def investigated() -> Any:
        with tenant_context(hartwell):
            conversation = Conversation.objects.filter(external_key=key).first()
            if conversation is None or conversation.ticket_id is None:
                return None
            return Message.objects.filter(ticket_id=conversation.ticket_id, kind=MessageKind.INTERNAL_NOTE).first()

    note = wait_for(investigated, timeout=60)
    assert "another person" in note.body
    opened = wait_for(lambda: [m.text for m in wired.thread("C0HELPDESK", thread_ts)])
    assert opened == ["I've opened a ticket for this and I'm looking into it now; I'll reply in this thread."]
    with tenant_context(hartwell):
        ticket = Ticket.objects.select_related("source", "contact").get(pk=note.ticket_id)
        assert ticket.source.kind == SourceKind.CHAT
        assert ticket.contact is not None and ticket.contact.email == "alice@acme.test"
        with django_capture_on_commit_callbacks(execute=True):
            reply = tickets.reply(
                ticket=ticket, body="Only Bob can ask for his reset.", kind="public_reply", author=people["bob"]
            )
        reply.refresh_from_db()
    assert reply.delivery_state == "sent"
    assert [m.text for m in wired.thread("C0HELPDESK", thread_ts)][-1] == "Only Bob can ask for his reset."


def test_a_throttled_post_is_retried_after_slacks_retry_after(wired: SlackSandbox) -> None:
    """Slack answers 429 with Retry-After: slack-sdk's RateLimitErrorRetryHandler waits and posts again, once."""
    wired.fail_next(429, path="/api/chat.postMessage", headers={"Retry-After": "1"})
    event = wired.mention(user="U0ALICE", channel="C0HELPDESK", text="How do I fix a printer paper jam?")
    deliver(event)
    thread_ts = event["event"]["ts"]
    posted = wait_for(lambda: wired.thread("C0HELPDESK", thread_ts))
    time.sleep(0.5)
    assert len(wired.thread("C0HELPDESK", thread_ts)) == 1 and "tray 2" in posted[0].text
    statuses = [c.status for c in wired.calls("POST", "/api/chat.postMessage")][-2:]
    assert statuses == [429, 200]


def test_an_answer_being_written_is_posted_once_then_edited_at_most_every_interval(
    in_hartwell: Any, settings: Any
) -> None:
    """The thread writer (apps/chat/surfaces/answer.py) against the stand-in: the first piece is posted, later
    pieces edit that post no more often than the interval, and the last edit carries the sources."""
    import asyncio

    from apps.chat.models import Conversation
    from apps.chat.surfaces import routing
    from apps.chat.surfaces.answer import ThreadWriter
    from apps.chat.surfaces.slack.outbound import SlackOutbound

    with SlackSandbox() as sandbox:
        settings.SLACK_API_URL = sandbox.base_url + "/api/"
        install = routing.install(
            client=in_hartwell, kind="slack", workspace_id="T0WRITER", display_name="W", bot_token=sandbox.bot_token
        )
        conversation = Conversation(surface="slack", external_key="T0WRITER:C0HELPDESK:1.000001", install=install)
        writer = ThreadWriter(SlackOutbound(install), conversation, interval=0.2)

        async def stream() -> None:
            for n in range(12):  # 12 pieces 50 ms apart: 0.6 s of writing
                await writer(f"word{n} ")
                await asyncio.sleep(0.05)

        asyncio.run(stream())
        citations = [{"n": 1, "label": "VPN runbook", "url": "https://kb.example/vpn", "document": "VPN runbook"}]
        writer.finish(writer.text.strip() + " [1]", citations)
        [posted] = sandbox.thread("C0HELPDESK", "1.000001")
        assert 2 <= posted.edits <= 4, posted.edits  # edits at ~0.2 s and ~0.4 s (and ~0.6 s), then the final one
        assert posted.text.startswith("word0 word1") and "Sources: [1] VPN runbook" in posted.text
        assert posted.blocks[-1]["type"] == "context" and "kb.example/vpn" in posted.blocks[-1]["elements"][0]["text"]
