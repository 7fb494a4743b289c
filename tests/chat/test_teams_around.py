"""Microsoft Teams around the conversation: approval cards, handoff to an operator, identity through the client's
Graph connector, installing a tenant and the client's Teams page, the demo, and start-up without the SDK."""

from __future__ import annotations

from typing import Any

import pytest
from django_tenants.utils import tenant_context

from sandbox.teams import TeamsSandbox
from sandbox.teams_emulator import TeamsEmulator, TeamsUser
from tests.chat.conftest import ChatWorld
from tests.chat.teams_world import (
    ALICE,
    APP_ID,
    JANE,
    TENANT,
    deliver,
)

pytestmark = pytest.mark.django_db


def _waiting_action(client: Any) -> Any:
    from datetime import timedelta

    from django.utils import timezone

    from apps.connectors.models import Connector
    from apps.safety.models import ActionStatus, ToolAction

    with tenant_context(client):
        connector = Connector.objects.create(name="Stripe", kind="stripe")
        return ToolAction.objects.create(
            idempotency_key="teams-card-1",
            connector=connector,
            tool_name="refund",
            access="write",
            actor_kind="agent",
            outcome="needs_approval",
            arguments={"charge": "ch_1"},
            risk=10,
            reason="Jane asked for a password reset",
            status=ActionStatus.AWAITING_APPROVAL,
            expires_at=timezone.now() + timedelta(hours=1),
        )


def test_an_approval_card_reaches_the_approvers_teams_chat_and_a_click_decides_as_them(
    answering: None,
    teams: TeamsSandbox,
    emulator: TeamsEmulator,
    hartwell: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """Alice (Admin) and Jane (no Gaby account) both chat with the bot; an action waiting for approval sends the card
    to Alice's chat only; Jane replaying Alice's card decides nothing; Alice's click approves as Alice."""
    from apps.chat.surfaces.teams.wiring import teams_approval_cards
    from apps.safety.models import ActionStatus, ToolAction

    alice_chat = emulator.personal(ALICE, "printer paper jam")
    jane_chat = emulator.personal(JANE, "printer paper jam")
    for activity in (alice_chat, jane_chat):
        assert deliver(emulator, activity).status_code == 202
    with django_capture_on_commit_callbacks() as queued:
        action = _waiting_action(hartwell)
    assert any("_on_action_saved" in c.__qualname__ for c in queued), "the action queues its cards after the commit"
    with tenant_context(hartwell):
        assert teams_approval_cards.run(str(action.pk)) == 1
        assert teams_approval_cards.run(str(action.pk)) == 0, "a retried task sends no second card"
    assert not teams.replies_in(jane_chat["conversation"]["id"])
    card = teams.replies_in(alice_chat["conversation"]["id"])[0]["attachments"][0]["content"]
    approve = next(a for a in card["actions"] if a["title"] == "Approve")["data"]

    replayed = emulator.card_submit(JANE, approve, conversation_id=jane_chat["conversation"]["id"], reply_to="1")
    assert deliver(emulator, replayed).status_code == 202
    with tenant_context(hartwell):
        assert ToolAction.objects.get(pk=action.pk).status == ActionStatus.AWAITING_APPROVAL
    assert "not one of Hartwell" in teams.replies_in(jane_chat["conversation"]["id"])[-1]["text"]

    click = emulator.card_submit(ALICE, approve, conversation_id=alice_chat["conversation"]["id"], reply_to="1")
    assert deliver(emulator, click).status_code == 202
    with tenant_context(hartwell):
        decided = ToolAction.objects.get(pk=action.pk)
    assert decided.status == ActionStatus.APPROVED and decided.decided_via == "teams"
    assert (
        "Approved by alice@hartwell.example in Teams" in teams.replies_in(alice_chat["conversation"]["id"])[-1]["text"]
    )


def test_dearborn_cannot_use_hartwells_tenant(
    teams: TeamsSandbox, emulator: TeamsEmulator, installed: Any, hartwell: Any, dearborn: Any
) -> None:
    """Ownership: the tenant routes to Hartwell only; installing it for Dearborn too is refused."""
    from apps.chat.surfaces import routing

    with pytest.raises(routing.InstallError):
        routing.install(client=dearborn, kind="teams", workspace_id=TENANT, display_name="x", bot_token="")
    from apps.chat.surfaces.teams.routing import client_for

    assert client_for(TENANT) == hartwell


def test_the_demo_replays_a_conversation_against_the_stand_ins(
    chat_world: ChatWorld, lexical_only: None, hartwell: Any
) -> None:
    import io

    from django.core.management import call_command

    out = io.StringIO()
    call_command("gaby", "teams-demo", "replay", "--client", "hartwell", stdout=out)
    text = out.getvalue()
    assert "Jordan Demo (personal): How do I reset my VPN password?" in text
    assert "VPN runbook" in text, text  # the cited source of the answer
    assert "reached the Bot Connector stand-in" in text
    from apps.chat.models import Conversation

    with tenant_context(hartwell):
        assert Conversation.objects.filter(surface="teams", visitor_email="jordan.demo@hartwell.example").count() == 2


def test_a_handoff_card_then_the_operators_reply_lands_in_the_teams_chat(
    answering: None,
    teams: TeamsSandbox,
    emulator: TeamsEmulator,
    hartwell: Any,
    people: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from apps.chat import services
    from apps.chat.models import Conversation, SurfacePost
    from apps.chat.surfaces import action_requests
    from apps.chat.surfaces.tasks import deliver_surface_post

    activity = emulator.personal(JANE, "Can I talk to a person please?")
    assert deliver(emulator, activity).status_code == 202
    with tenant_context(hartwell):
        conversation = Conversation.objects.get(surface="teams")
        assert conversation.handoff_requested_at is not None
        asked = conversation.messages.order_by("created_at").first()
        ticket = action_requests.open_ticket(conversation=conversation, message=asked)  # the request's ticket
        services.take_over(conversation=conversation, user=people["bob"])
        conversation.refresh_from_db()
        services.operator_reply(conversation=conversation, user=people["bob"], body="Hi Jane, Bob here.")
        for post in SurfacePost.objects.order_by("created_at"):  # what chat.deliver_surface_post does, in order
            assert deliver_surface_post.run(str(post.pk)) == "sent"
    texts = [reply["text"] for reply in teams.replies_in(activity["conversation"]["id"])]
    assert any("Bob here" in text and people["bob"].display_name in text for text in texts), texts
    # The handoff is an adaptive card: who will answer, and the ticket opened for the request; other notes are text.
    replies = teams.replies_in(activity["conversation"]["id"])
    [joined] = [r for r in replies if "joined the chat" in r["text"]]
    [card] = [a["content"] for a in joined["attachments"]]
    facts = {f["title"]: f["value"] for block in card["body"] if block["type"] == "FactSet" for f in block["facts"]}
    assert card["type"] == "AdaptiveCard"
    assert facts == {"Who will answer": people["bob"].display_name, "Ticket": ticket.title}
    opened = [r for r in replies if "opened a ticket" in r["text"]]
    assert opened and not opened[0].get("attachments")


def test_the_email_comes_from_the_clients_graph_connector_when_the_bot_connector_has_none(
    teams: TeamsSandbox, hartwell: Any, people: Any
) -> None:
    """The MSP mapped Hartwell's Entra tenant through its partner app (a Microsoft 365 connector): teams-install
    takes the tenant from there, and a user the Bot Connector gives no email for is named by Graph /users/{id}."""
    import io

    from django.core.management import call_command

    from apps.chat.models import ChatSurfaceInstall, Conversation
    from apps.connectors import host, m365_partner
    from sandbox.msgraph import GraphSandbox
    from sandbox.msgraph_data import HARTWELL
    from sandbox.msgraph_partner import partner_connection

    try:
        with GraphSandbox() as graph:
            partner = m365_partner.partner_from(partner_connection(graph))
            m365_partner.connect_clients(partner, mapping={HARTWELL: hartwell}, actor=people["mona"])
            out = io.StringIO()
            call_command("gaby", "teams-install", "--client", "hartwell", "--allow", "hartwelllaw.com", stdout=out)
            assert f"Teams tenant {HARTWELL} now reaches Hartwell Law" in out.getvalue()
            with tenant_context(hartwell):
                assert ChatSurfaceInstall.objects.get(workspace_id=HARTWELL).allowed == ["hartwelllaw.com"]
            user = graph.tenant(HARTWELL).user("jane.doe@hartwelllaw.com")
            assert user is not None
            emulator = TeamsEmulator(teams, APP_ID, HARTWELL)
            activity = emulator.personal(TeamsUser(user["id"], "Jane Doe"), "printer paper jam")
            assert deliver(emulator, activity).status_code == 202
            assert graph.calls("GET", f"/v1.0/users/{user['id']}")
    finally:
        host.host().shutdown()  # the connector's MCP server ends with its stand-in
    with tenant_context(hartwell):
        conversation = Conversation.objects.get(surface="teams")
        assert conversation.visitor_email == "jane.doe@hartwelllaw.com" and conversation.identity_verified


def test_teams_install_needs_a_tenant_when_the_client_has_no_microsoft_365(hartwell: Any) -> None:
    from django.core.management import call_command
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="Give --tenant"):
        call_command("gaby", "teams-install", "--client", "hartwell")
    with pytest.raises(CommandError, match="not a tenant id"):
        call_command("gaby", "teams-install", "--client", "hartwell", "--tenant", "contoso")


def test_web_and_worker_processes_start_without_the_agents_sdk() -> None:
    """The SDK costs about a second to import: it loads on the first Teams request, post or card, not at start-up."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    script = (
        "import json, sys, django\ndjango.setup()\n"
        "import gaby_site.urls_public, gaby_site.urls_tenant\n"
        "from gaby_site.celery import app\napp.loader.import_default_modules()\n"
        "from apps.chat.surfaces.outbound import _outbound\n"
        "print(json.dumps([any(m.startswith('microsoft_agents') for m in sys.modules), "
        "'chat.teams_approval_cards' in app.tasks, 'teams' in _outbound]))\n"
    )
    env = os.environ | {"DJANGO_SETTINGS_MODULE": "gaby_site.settings_test", "GABY_ENV": "test"}
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=root, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == [False, True, True]


def test_the_teams_page_edits_the_install_for_admins_only(
    installed: Any, hartwell: Any, as_user: Any, django_capture_on_commit_callbacks: Any
) -> None:
    alice, bob, carol = as_user("alice", "hartwell"), as_user("bob", "hartwell"), as_user("carol", "hartwell")
    page = alice.get("/chat/teams/").content.decode()
    assert TENANT in page and 'data-testid="teams-settings-form"' in page
    assert bob.get("/chat/teams/").status_code == 403, "an Agent does not change where Gaby listens"
    assert carol.get("/chat/teams/").status_code == 403, "Dearborn's Admin is not a member of Hartwell"
    bad = alice.post("/chat/teams/settings/", {"channels": "general", "access": "everyone", "enabled": "on"})
    assert bad.status_code == 400 and "Not a Teams channel id" in bad.content.decode()
    channel = "19:ops-room@thread.tacv2"
    saved = alice.post(
        "/chat/teams/settings/",
        {"channels": channel, "access": "listed", "allowed": "hartwelllaw.com", "enabled": "on"},
    )
    assert saved.status_code == 302
    from apps.chat.models import ChatSurfaceInstall

    with tenant_context(hartwell):
        row = ChatSurfaceInstall.objects.get(kind="teams")
        assert row.channels == [channel] and row.access == "listed" and row.allowed == ["hartwelllaw.com"]
    assert alice.post("/chat/teams/remove/").status_code == 302
    from apps.chat.surfaces.teams.routing import client_for

    assert client_for(TENANT) is None, "a removed install routes nothing"
