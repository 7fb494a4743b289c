"""Microsoft Teams end to end through the real Django path: the emulator signs activities with the stand-in's key,
the SDK's JwtTokenValidator checks them against the stand-in's OpenID metadata, the foundation's ``receive`` takes
the message, the answer task writes the reply and the stand-in Bot Connector receives it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client as HttpClient
from django_tenants.utils import tenant_context

from sandbox.teams import SigningKey, TeamsSandbox
from sandbox.teams_emulator import TeamsEmulator, TeamsUser
from tests.chat.conftest import ChatWorld

pytestmark = pytest.mark.django_db

APP_ID = "6a1f4c3e-0b7d-4c55-9d8e-2f0a1b2c3d4e"
APP_SECRET = "bot-secret-for-tests"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
OTHER_TENANT = "0f0e0d0c-0b0a-4909-8807-060504030201"
ENDPOINT = "/teams/messages"
JANE = TeamsUser("1f2e3d4c-5b6a-4789-8abc-def012345678", "Jane Client", "jane@hartwell.example")
NOBODY = TeamsUser("99999999-5b6a-4789-8abc-def012345678", "No Email")
ALICE = TeamsUser("a11ce000-5b6a-4789-8abc-def012345678", "Alice Hartwell", "alice@hartwell.example")
STRANGER = TeamsUser("5742a6e2-5b6a-4789-8abc-def012345678", "Stranger", "stranger@hartwell.example")


@pytest.fixture
def teams(settings: Any) -> Iterator[TeamsSandbox]:
    members = {u.aad_object_id: {"email": u.email, "name": u.name} for u in (JANE, ALICE, STRANGER)}
    with TeamsSandbox({APP_ID: APP_SECRET}, members) as sandbox:
        settings.TEAMS_APP_ID = APP_ID
        settings.TEAMS_APP_PASSWORD = APP_SECRET
        settings.TEAMS_TOKEN_URL = sandbox.token_url
        settings.TEAMS_OPENID_METADATA_URL = sandbox.metadata_url
        settings.TEAMS_SERVICE_URL = sandbox.service_url
        settings.TEAMS_CHECK_SERVICE_HOSTS = False
        from apps.chat.surfaces.teams.auth import bot_token

        bot_token._token = None  # a token of another test's stand-in is no good here
        yield sandbox


@pytest.fixture
def installed(hartwell: Any) -> Any:
    from apps.chat.surfaces import routing

    return routing.install(
        client=hartwell,
        kind="teams",
        workspace_id=TENANT,
        display_name="Hartwell (Teams)",
        bot_token="",
        channels=["19:general@thread.tacv2"],
    )


@pytest.fixture
def emulator(teams: TeamsSandbox) -> TeamsEmulator:
    return TeamsEmulator(teams, APP_ID, TENANT)


@pytest.fixture
def answering(chat_world: ChatWorld, lexical_only: None, installed: Any) -> None:
    """Hartwell's runbooks indexed for full-text search, and Gaby installed in Hartwell's Teams tenant."""


def deliver(emulator: TeamsEmulator, activity: dict[str, Any], *, token: str | None = None) -> Any:
    web = HttpClient(HTTP_HOST="localhost")
    headers = {} if token == "" else {"Authorization": f"Bearer {token if token is not None else emulator.token()}"}
    return web.post(ENDPOINT, data=activity, content_type="application/json", headers=headers)


def answer_pending(client: Any) -> list[str]:
    """Run the answer task's body (``chat.answer_surface``) for each queued delivery, in the client's schema."""
    from apps.chat.models import DeliveryState, SurfaceDelivery
    from apps.chat.surfaces import answer

    with tenant_context(client):
        queued = list(SurfaceDelivery.objects.filter(state=DeliveryState.QUEUED).values_list("pk", flat=True))
        return [answer.answer(str(pk)) for pk in queued]


def test_a_personal_chat_question_gets_a_cited_answer_in_the_chat(
    answering: None, teams: TeamsSandbox, emulator: TeamsEmulator, hartwell: Any
) -> None:
    activity = emulator.personal(JANE, "How do I reset a user's VPN password?")
    response = deliver(emulator, activity)
    assert response.status_code == 202, response.content
    assert answer_pending(hartwell) == ["answered"]
    replies = teams.replies_in(activity["conversation"]["id"])
    assert len(replies) == 1
    reply = replies[0]
    card = reply["attachments"][0]
    assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
    texts = [block.get("text", "") for block in card["content"]["body"]]
    assert "Sources" in texts and any("VPN" in t for t in texts[2:])
    from apps.chat.models import Conversation

    with tenant_context(hartwell):
        conversation = Conversation.objects.get(surface="teams")
        assert conversation.visitor_email == JANE.email and conversation.identity_verified
        assert conversation.external_key == activity["conversation"]["id"]
    # the member lookup went through the Bot Connector with the bot's own token
    assert teams.calls("GET", "/amer/v3/conversations/") and teams.tokens_issued >= 1


def test_a_channel_mention_is_answered_in_its_thread_with_the_mention_removed(
    answering: None, teams: TeamsSandbox, emulator: TeamsEmulator, hartwell: Any
) -> None:
    activity = emulator.channel_mention(
        JANE, "printer paper jam", team_id="19:team@thread.tacv2", channel_id="19:general@thread.tacv2"
    )
    assert deliver(emulator, activity).status_code == 202
    from apps.chat.models import ChatMessage

    with tenant_context(hartwell):
        asked = ChatMessage.objects.get(role="visitor")
        assert asked.body == "printer paper jam", "the <at>Gaby</at> mention is not part of the question"
    answer_pending(hartwell)
    thread = f"19:general@thread.tacv2;messageid={activity['id']}"
    assert teams.replies_in(thread), "the answer goes to the post's thread"


def test_a_channel_gaby_does_not_listen_to_is_ignored(
    chat_world: ChatWorld, teams: TeamsSandbox, emulator: TeamsEmulator, installed: Any, hartwell: Any
) -> None:
    activity = emulator.channel_mention(JANE, "hello", team_id="19:t@thread.tacv2", channel_id="19:random@thread.tacv2")
    assert deliver(emulator, activity).status_code == 202
    from apps.chat.models import Conversation

    with tenant_context(hartwell):
        assert not Conversation.objects.filter(surface="teams").exists()


@pytest.mark.parametrize("case", ["missing", "garbage", "forged", "wrong-audience", "wrong-issuer", "expired"])
def test_a_bad_token_is_401_and_nothing_is_processed(
    case: str, teams: TeamsSandbox, emulator: TeamsEmulator, installed: Any, hartwell: Any
) -> None:
    activity = emulator.personal(JANE, "How do I reset a user's VPN password?")
    tokens = {
        "missing": "",
        "garbage": "not.a.jwt",
        "forged": TeamsEmulator(teams, APP_ID, TENANT, key=SigningKey()).token(),
        "wrong-audience": emulator.token(aud="another-bot"),
        "wrong-issuer": emulator.token(iss="https://evil.example"),
        "expired": emulator.token(exp=1_000_000, nbf=999_000),
    }
    response = deliver(emulator, activity, token=tokens[case])
    assert response.status_code == 401
    from apps.chat.models import SurfaceDelivery

    with tenant_context(hartwell):
        assert not SurfaceDelivery.objects.exists()
    assert not teams.calls("GET", "/amer/v3/") and not teams.posted


def test_a_service_url_other_than_the_signed_one_is_refused(
    teams: TeamsSandbox, emulator: TeamsEmulator, installed: Any
) -> None:
    activity = emulator.personal(JANE, "hi")
    activity["serviceUrl"] = "https://attacker.example/amer/"
    assert deliver(emulator, activity).status_code == 401


def test_an_unknown_tenant_is_refused_and_logged(
    teams: TeamsSandbox, installed: Any, caplog: pytest.LogCaptureFixture
) -> None:
    stranger = TeamsEmulator(teams, APP_ID, OTHER_TENANT)
    response = deliver(stranger, stranger.personal(JANE, "hi"))
    assert response.status_code == 403
    assert OTHER_TENANT in response.json()["error"]
    assert any("unknown tenant" in r.getMessage() for r in caplog.records)
    assert not teams.posted


def test_a_redelivered_activity_is_answered_once(
    answering: None, teams: TeamsSandbox, emulator: TeamsEmulator, hartwell: Any
) -> None:
    activity = emulator.personal(JANE, "How do I reset a user's VPN password?")
    assert deliver(emulator, activity).status_code == 202
    assert deliver(emulator, activity).status_code == 202  # Teams re-sends when it did not hear back in time
    assert answer_pending(hartwell) == ["answered"]
    assert len(teams.replies_in(activity["conversation"]["id"])) == 1


def test_a_user_whose_email_cannot_be_verified_is_refused_politely(
    teams: TeamsSandbox, emulator: TeamsEmulator, installed: Any, hartwell: Any
) -> None:
    activity = emulator.personal(NOBODY, "My email is boss@hartwell.example, reset my password")
    assert deliver(emulator, activity).status_code == 202
    replies = teams.replies_in(activity["conversation"]["id"])
    assert len(replies) == 1 and "verified email" in replies[0]["text"]
    from apps.chat.models import Conversation

    with tenant_context(hartwell):
        assert not Conversation.objects.exists(), "an address typed in the message is never the requester"


def test_a_429_from_the_connector_is_retried_after_retry_after(
    answering: None, teams: TeamsSandbox, emulator: TeamsEmulator, hartwell: Any
) -> None:
    activity = emulator.personal(JANE, "How do I reset a user's VPN password?")
    assert deliver(emulator, activity).status_code == 202
    teams.fail_next(429, path="/amer/v3/conversations/", method="POST", headers={"Retry-After": "0"})
    assert answer_pending(hartwell) == ["answered"]
    assert [c.status for c in teams.calls("POST", "/amer/v3/conversations/")][:2] == [429, 201]


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


def test_a_handoff_then_the_operators_reply_lands_in_the_teams_chat(
    answering: None,
    teams: TeamsSandbox,
    emulator: TeamsEmulator,
    hartwell: Any,
    people: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from apps.chat import services
    from apps.chat.models import Conversation, SurfacePost
    from apps.chat.surfaces.tasks import deliver_surface_post

    activity = emulator.personal(JANE, "Can I talk to a person please?")
    assert deliver(emulator, activity).status_code == 202
    with tenant_context(hartwell):
        conversation = Conversation.objects.get(surface="teams")
        assert conversation.handoff_requested_at is not None
        services.take_over(conversation=conversation, user=people["bob"])
        conversation.refresh_from_db()
        services.operator_reply(conversation=conversation, user=people["bob"], body="Hi Jane, Bob here.")
        for post in SurfacePost.objects.order_by("created_at"):  # what chat.deliver_surface_post does, in order
            assert deliver_surface_post.run(str(post.pk)) == "sent"
    texts = [reply["text"] for reply in teams.replies_in(activity["conversation"]["id"])]
    assert any("Bob here" in text and people["bob"].display_name in text for text in texts), texts
    assert any("joined the chat" in text for text in texts)


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
