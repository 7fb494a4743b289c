"""Approval and escalation notices through a client's Slack app: with an approvals channel chosen on its Slack page,
they are posted with the install's bot token (chat.postMessage on the Slack stand-in over HTTP) — not to the
incoming webhook — with the Approve/Reject buttons the Bolt app decides; a client with only a webhook keeps it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection

from apps.safety import services
from apps.safety.models import ActionStatus, ApprovalNotice, NoticeState, ToolAction
from apps.safety.notify.service import send_notices
from sandbox.slack import DEMO_TEAM, SlackSandbox
from tenants.models import Client
from tests.agent.test_slack_escalation_dm import slack_installed
from tests.conftest import browser_for
from tests.http_receiver import Receiver
from tests.safety.test_approval_channels import receiver, waiting  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db


REVIEW_WITHOUT_EMAIL = {
    "autonomy": "review",
    "approval_threshold": 50,
    "approval_ttl_hours": 24,
    "compliance_profile": "standard",
    "notify_email": False,
}


@pytest.fixture
def slack_app(in_hartwell: Client, people: dict[str, Any], settings: Any, receiver: Receiver) -> Iterator[Any]:  # noqa: F811
    """Hartwell installed Gaby in Slack and also has an incoming webhook; email notices off."""
    services.update_safety_settings(client=in_hartwell, actor=people["alice"], **REVIEW_WITHOUT_EMAIL)
    hook = {"slack_webhook_url": f"{receiver.url}/services/T0/B0/x"}
    services.update_channels(client=in_hartwell, changes=hook, actor=people["alice"])
    users = [{"id": "U0BOB", "name": "bob", "real_name": "Bob", "email": people["bob"].email}]
    with slack_installed(in_hartwell, settings, users) as sandbox:
        yield sandbox


@pytest.fixture
def choose(people: dict[str, Any], in_hartwell: Client) -> Any:
    """``choose(channel)``: the client's Admin picks the approvals channel on the Slack page (the real form and
    view); "" is none."""

    def pick(channel: str) -> None:
        form = {"channels": ["C0HELPDESK"], "access": "everyone", "enabled": "on", "approvals_channel": channel}
        saved = browser_for(people["alice"], "hartwell.localhost").post("/chat/slack/settings/", form)
        assert saved.status_code == 302, saved.content.decode()[:2000]
        connection.set_tenant(in_hartwell)  # type: ignore[attr-defined]  # the request left the connection elsewhere

    return pick


def test_approval_notices_go_through_the_slack_app_and_its_buttons_decide(
    slack_app: SlackSandbox,
    choose: Any,
    waiting: Any,  # noqa: F811
    receiver: Receiver,  # noqa: F811
    people: dict[str, Any],
) -> None:
    from apps.chat.surfaces.slack.notices import decide
    from apps.chat.surfaces.slack.outbound import web_client

    choose("C0RANDOM")
    action = waiting("app1")
    assert send_notices(str(action.pk)) == 1
    [notice] = slack_app.thread("C0RANDOM")
    assert receiver.requests == []  # the webhook was not used
    assert "Approval needed" in notice.text
    buttons = {e["action_id"]: e for e in notice.blocks[-1]["elements"]}
    assert set(buttons) == {"gaby_approve", "gaby_reject"} and all(b.get("value") for b in buttons.values())
    assert send_notices(str(action.pk)) == 0 and len(slack_app.thread("C0RANDOM")) == 1  # sent once
    click = {"type": "block_actions", "team": {"id": DEMO_TEAM["id"]}, "actions": [buttons["gaby_approve"]]}
    text = decide({**click, "user": {"id": "U0BOB", "username": "bob"}}, web_client(slack_app.bot_token))
    assert text.startswith(f"Approved by {people['bob'].email} in Slack")
    assert ToolAction.objects.get(pk=action.pk).status == ActionStatus.APPROVED


def test_without_an_approvals_channel_the_webhook_keeps_the_notices(
    slack_app: SlackSandbox,
    choose: Any,
    waiting: Any,  # noqa: F811
    receiver: Receiver,  # noqa: F811
) -> None:
    choose("")
    action = waiting("hook1")
    assert send_notices(str(action.pk)) == 1
    assert len(receiver.requests) == 1 and slack_app.messages == []


def test_a_channel_slack_refuses_fails_the_notice_with_what_to_fix(
    slack_app: SlackSandbox,
    waiting: Any,  # noqa: F811
    in_hartwell: Client,
) -> None:
    from apps.chat.models import ChatSurfaceInstall

    ChatSurfaceInstall.objects.filter(kind="slack").update(approvals_channel="C0GONE")
    action = waiting("gone1")
    assert send_notices(str(action.pk)) == 0
    notice = ApprovalNotice.objects.get(action=action)
    assert notice.state == NoticeState.FAILED and "channel_not_found" in notice.last_error
