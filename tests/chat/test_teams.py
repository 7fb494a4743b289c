"""Microsoft Teams end to end through the real Django path: the emulator signs activities with the stand-in's key,
the SDK's JwtTokenValidator checks them against the stand-in's OpenID metadata, the foundation's ``receive`` takes
the message, the answer task writes the reply and the stand-in Bot Connector receives it."""

from __future__ import annotations

from typing import Any

import pytest
from django_tenants.utils import tenant_context

from sandbox.teams import SigningKey, TeamsSandbox
from sandbox.teams_emulator import TeamsEmulator
from tests.chat.conftest import ChatWorld
from tests.chat.teams_world import (
    APP_ID,
    JANE,
    NOBODY,
    OTHER_TENANT,
    TENANT,
    answer_pending,
    deliver,
)

pytestmark = pytest.mark.django_db


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
    reply_path = f"/amer/v3/conversations/{activity['conversation']['id']}/activities/{activity['id']}"
    assert teams.calls("POST", reply_path), "the refusal is a reply to the user's message"
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
