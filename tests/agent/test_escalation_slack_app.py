"""Escalation notices through the client's Slack app: with an approvals channel chosen, the escalation is posted
there with the install's bot token (the Slack stand-in over HTTP) instead of the incoming webhook, once."""

from __future__ import annotations

from typing import Any

import pytest

from apps.agent.escalation_notices import send_escalation_notices
from apps.agent.runtime import settings_for
from apps.safety import services
from sandbox.slack import SlackSandbox
from tests.agent.test_escalation_notices import escalated  # noqa: F401 (fixture)
from tests.agent.test_slack_escalation_dm import slack  # noqa: F401 (fixture)
from tests.http_receiver import http_receiver

pytestmark = pytest.mark.django_db


def test_an_escalation_is_posted_in_the_slack_approvals_channel_not_the_webhook(
    escalated: Any,  # noqa: F811
    slack: SlackSandbox,  # noqa: F811
    in_hartwell: Any,
    people: dict[str, Any],
) -> None:
    from apps.chat.models import ChatSurfaceInstall

    row = settings_for()
    row.escalation_slack, row.escalation_email = True, ""
    row.save()
    with http_receiver() as receiver:
        hook = {"slack_webhook_url": f"{receiver.url}/services/T0/B0/x"}
        services.update_channels(client=in_hartwell, changes=hook, actor=people["alice"])
        ChatSurfaceInstall.objects.filter(kind="slack").update(approvals_channel="C0HELPDESK")
        assert send_escalation_notices(str(escalated.pk)) == (1, 1)
        assert send_escalation_notices(str(escalated.pk)) == (0, 1)  # sent once
        assert receiver.requests == []
    [posted] = slack.thread("C0HELPDESK")
    assert "Move us to" in posted.text
    link = posted.blocks[-1]["elements"][0]
    assert link["action_id"] == "gaby_open_investigation" and link["url"].endswith(f"/investigations/{escalated.pk}/")
