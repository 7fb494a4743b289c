"""Handoff with an operator online, shadow mode over the console socket, take over / hand back, and the pages."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.db import connections
from django_tenants.utils import tenant_context

from apps.chat import services
from apps.chat.models import ChatMessage, Conversation, ConversationState, ReviewState
from apps.chat.widgets import identity_secret, sign_identity, verify_identity
from apps.knowledge.models import CandidateOrigin, KBCandidate
from apps.tickets.models import Ticket
from tests.chat.conftest import ChatWorld, clear_conversations, events_until, gaby_answer, widget_socket

pytestmark = pytest.mark.django_db


def _console(session_key: str, host: str = "hartwell.localhost") -> WebsocketCommunicator:
    from gaby_site.asgi import application

    headers = [
        (b"host", host.encode()),
        (b"origin", f"http://{host}".encode()),
        (b"cookie", f"{settings.SESSION_COOKIE_NAME}={session_key}".encode()),
    ]
    return WebsocketCommunicator(application, "/ws/chat/console/", headers=headers)


@database_sync_to_async
def _take_over(client: Any, conversation_id: str, user: Any) -> None:
    with tenant_context(client):
        services.take_over(conversation=Conversation.objects.get(pk=conversation_id), user=user)


@database_sync_to_async
def _reply(client: Any, conversation_id: str, user: Any, body: str) -> None:
    with tenant_context(client):
        services.operator_reply(conversation=Conversation.objects.get(pk=conversation_id), user=user, body=body)


async def test_handoff_shadow_take_over_and_reply(chat_world: ChatWorld, world: Any, lexical_only: None) -> None:
    hartwell, bob = world.clients["hartwell"], world.people["bob"]
    console = _console(world.sessions["bob"])
    assert (await console.connect())[0]
    assert (await console.receive_json_from(timeout=30))["type"] == "hello"  # bob is now online

    visitor = widget_socket(chat_world.hartwell_key)
    try:
        await visitor.connect()
        await visitor.send_json_to({"type": "hello"})
        ready = await visitor.receive_json_from(timeout=30)
        await console.send_json_to({"type": "watch", "conversation": ready["conversation"]})
        assert await console.receive_json_from(timeout=30) == {
            "type": "watching",
            "conversation": ready["conversation"],
        }

        await visitor.send_json_to({"type": "message", "text": "How do I reset a user's VPN password?"})
        shadowed = await events_until(console, gaby_answer)
        tokens = [e for e in shadowed if e["type"] == "token"]
        assert tokens and shadowed[-1]["type"] == "message", "the operator sees Gaby's text as it is written"
        assert "".join(t["text"] for t in tokens) == shadowed[-1]["body"]  # in batches, not a Redis trip per word
        await events_until(visitor, gaby_answer)

        await visitor.send_json_to({"type": "message", "text": "I'd like to talk to a person"})
        note = await events_until(visitor, lambda e: e.get("type") == "state")
        assert note[-1]["state"] == "waiting" and "asked a person" in note[-2]["body"]

        await _take_over(hartwell, ready["conversation"], bob)
        joined = await events_until(visitor, lambda e: e.get("role") == "system" and "joined" in e.get("body", ""))
        assert {"type": "state", "state": "human", "operator": bob.display_name} in joined
        await visitor.send_json_to({"type": "message", "text": "Thanks, my VPN still fails"})
        await events_until(visitor, lambda e: e.get("role") == "visitor")
        assert await visitor.receive_nothing(timeout=0.5), "Gaby stays quiet once a person has taken over"
        await _reply(hartwell, ready["conversation"], bob, "Let me reset it for you now.")
        reply = (await events_until(visitor, lambda e: e.get("role") == "operator"))[-1]
        assert reply["body"] == "Let me reset it for you now." and reply["author"] == bob.display_name
    finally:  # a failure must not leave consumers holding the channel layer for the next tests
        await visitor.disconnect()
        await console.disconnect()
    await database_sync_to_async(clear_conversations)(hartwell)
    await database_sync_to_async(connections.close_all)()


async def test_the_console_socket_is_for_members_only(chat_world: ChatWorld, world: Any) -> None:
    console = _console(world.sessions["carol"])
    await console.connect()
    assert await console.receive_output(timeout=3) == {"type": "websocket.close", "code": 4403}
    await database_sync_to_async(connections.close_all)()


# --- services and pages (one transaction per test) -----------------------------------------------
@pytest.fixture
def conversation(in_hartwell: Any, chat_world: ChatWorld) -> Conversation:
    from apps.chat.widgets import Identity

    conv, _ = services.start_conversation(widget=chat_world.hartwell_widget, identity=Identity(), origin="http://x")
    services.post_visitor_message(conversation=conv, body="How do I reset a user's VPN password?")
    services.post_gaby_message(
        conversation=conv,
        body="Open the admin portal [1].",
        mode="knowledge",
        citations=[{"n": 1, "label": "VPN runbook", "url": ""}],
        confidence=1.0,
    )
    return conv


def test_operator_pages_take_over_reply_correct_and_export(
    conversation: Conversation, as_user: Any, people: Any
) -> None:
    bob = as_user("bob", "hartwell")
    page = bob.get(f"/chat/c/{conversation.pk}/")
    assert page.status_code == 200 and b'data-testid="take-over"' in page.content
    assert bob.post(f"/chat/c/{conversation.pk}/take-over/", HTTP_HX_REQUEST="true").status_code == 200
    conversation.refresh_from_db()
    assert conversation.state == ConversationState.HUMAN and conversation.operator_name == people["bob"].display_name
    assert bob.post(f"/chat/c/{conversation.pk}/reply/", {"body": "On it."}, HTTP_HX_REQUEST="true").status_code == 200
    assert ChatMessage.objects.filter(conversation=conversation, role="operator", body="On it.").exists()
    gaby = ChatMessage.objects.get(conversation=conversation, role="gaby")
    bob.post(f"/chat/c/{conversation.pk}/messages/{gaby.pk}/correct/", {"text": "Use the self-service portal."})
    candidate = KBCandidate.objects.get(origin_ref=f"chat:{conversation.pk}:{gaby.pk}")
    assert candidate.origin_kind == CandidateOrigin.CORRECTION and candidate.title.startswith("How do I reset")
    assert bob.post(f"/chat/c/{conversation.pk}/hand-back/").status_code == 302
    conversation.refresh_from_db()
    assert conversation.state == ConversationState.BOT

    markdown = bob.get(f"/chat/c/{conversation.pk}/export.md")
    assert markdown["Content-Type"].startswith("text/markdown")
    assert (
        f"**{people['bob'].display_name}**" in markdown.content.decode()
        and "> [1] VPN runbook" in markdown.content.decode()
    )
    data = json.loads(bob.get(f"/chat/c/{conversation.pk}/export.json").content)
    assert [m["role"] for m in data["messages"]][:3] == ["visitor", "gaby", "system"]


def test_a_viewer_watches_but_cannot_take_over(conversation: Conversation, as_user: Any, people: Any) -> None:
    from apps.accounts.models import Membership, Role

    Membership.objects.filter(user=people["bob"], client__schema_name="hartwell").update(role=Role.VIEWER)
    bob = as_user("bob", "hartwell")
    assert bob.get(f"/chat/c/{conversation.pk}/").status_code == 200
    assert bob.post(f"/chat/c/{conversation.pk}/take-over/").status_code == 403
    assert bob.get("/chat/widgets/").status_code == 403


def test_another_clients_people_get_403_and_ids_404(conversation: Conversation, as_user: Any) -> None:
    carol = as_user("carol", "hartwell")
    for url in ("/chat/", f"/chat/c/{conversation.pk}/", f"/chat/c/{conversation.pk}/export.json", "/chat/widgets/"):
        assert carol.get(url).status_code == 403, url
    assert carol.post(f"/chat/c/{conversation.pk}/take-over/").status_code == 403
    on_own_client = as_user("carol", "dearborn")
    assert on_own_client.get(f"/chat/c/{conversation.pk}/").status_code == 404
    assert on_own_client.get(f"/chat/c/{conversation.pk}/export.md").status_code == 404
    assert on_own_client.post(f"/chat/c/{conversation.pk}/take-over/").status_code == 404


def test_a_poor_rating_enters_the_review_queue(conversation: Conversation, as_user: Any) -> None:
    with pytest.raises(services.ChatError):
        services.rate(conversation=conversation, rating=9)
    services.close(conversation=conversation)
    services.rate(conversation=conversation, rating=1, comment="Did not help")
    conversation.refresh_from_db()
    assert conversation.review_state == ReviewState.QUEUED
    page = as_user("alice", "hartwell").get("/chat/review/")
    assert b"Did not help" in page.content
    as_user("alice", "hartwell").post(f"/chat/c/{conversation.pk}/reviewed/")
    conversation.refresh_from_db()
    assert conversation.review_state == ReviewState.REVIEWED


def test_a_ticket_from_chat_enters_the_inbox_with_the_transcript(conversation: Conversation) -> None:
    ticket = services.create_ticket(conversation=conversation, email="jo@example.com")
    stored = Ticket.objects.get(pk=ticket.pk)
    assert (
        stored.source.name == "Chat widget" and stored.contact is not None and stored.contact.email == "jo@example.com"
    )
    assert "Open the admin portal" in stored.body and stored.title.startswith("How do I reset")
    with pytest.raises(services.ChatError, match="already exists"):
        services.create_ticket(conversation=conversation, email="jo@example.com")


def test_signed_identity_is_verified(in_hartwell: Any, chat_world: ChatWorld) -> None:
    widget = chat_world.hartwell_widget
    widget.identity_mode = "signed"
    secret = identity_secret(client=in_hartwell, widget=widget)
    token = sign_identity(secret, user_id="u-42", email="jo@example.com", name="Jo")
    identity = verify_identity(client=in_hartwell, widget=widget, token=token)
    assert identity is not None and identity.verified and identity.email == "jo@example.com"
    assert verify_identity(client=in_hartwell, widget=widget, token=token[:-2] + "00") is None
    assert verify_identity(client=in_hartwell, widget=widget, token=None) is None
    expired = sign_identity(secret, user_id="u-42", ttl=-10)
    assert verify_identity(client=in_hartwell, widget=widget, token=expired) is None


def test_admin_creates_a_widget_and_sees_its_snippet(in_hartwell: Any, as_user: Any) -> None:
    alice = as_user("alice", "hartwell")
    bad = alice.post(
        "/chat/widgets/new/",
        {
            "name": "Shop",
            "allowed_origins": "ftp://nope",
            "greeting": "Hi",
            "persona_name": "Acme Support",
            "identity_mode": "anonymous",
        },
    )
    assert bad.status_code == 400 and b"is not an origin like" in bad.content
    made = alice.post(
        "/chat/widgets/new/",
        {
            "name": "Shop",
            "allowed_origins": "https://shop.example\nhttps://www.shop.example/",
            "greeting": "Hi",
            "persona_name": "Acme Support",
            "identity_mode": "signed",
            "theme": '{"accent": "#112233"}',
            "business_hours": '{"mon": "09:00-17:00"}',
            "enabled": "on",
        },
        follow=True,
    )
    assert made.status_code == 200
    page = made.content.decode()
    assert 'src="http://hartwell.localhost/widget.js" data-gaby-key="gw_' in page.replace("&lt;", "<").replace(
        "&gt;", ">"
    ).replace("&quot;", '"')
    from apps.chat.models import Widget

    widget = Widget.objects.get(name="Shop")
    assert widget.allowed_origins == ["https://shop.example", "https://www.shop.example"]
    assert widget.theme == {"accent": "#112233"} and widget.business_hours == {"mon": "09:00-17:00"}
    rotated = alice.post(f"/chat/widgets/{widget.pk}/rotate-secret/")
    assert b'data-testid="identity-secret"' in rotated.content


def test_widget_js_is_public_and_under_30_kb_gzipped(as_user: Any) -> None:
    response = as_user(None, "hartwell").get("/widget.js")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/javascript")
    body = response.content
    assert body == (Path(settings.BASE_DIR) / "apps/chat/static/chat/widget.js").read_bytes()
    size = len(gzip.compress(body, compresslevel=9))
    assert size < 30 * 1024, f"widget.js is {size} bytes gzipped"
