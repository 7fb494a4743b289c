"""Approve/Reject buttons of a client that installed Gaby in Slack: the Bolt app's handler maps the clicking user by
the email Slack verified for them (users.info on the stand-in) and decides through the one approval service."""

from __future__ import annotations

from typing import Any

import pytest

from apps.safety import services
from apps.safety.models import ActionStatus, ToolAction
from apps.safety.notify import compose
from sandbox.slack import DEMO_TEAM, SlackSandbox
from tenants.models import Client
from tests.safety.test_approval_channels import waiting  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


def test_a_click_in_slack_decides_as_the_gaby_user_with_the_same_verified_email(
    waiting: Any,  # noqa: F811
    in_hartwell: Client,
    people: dict[str, Any],
    settings: Any,
) -> None:
    from apps.chat.surfaces import routing
    from apps.chat.surfaces.slack.notices import decide
    from apps.chat.surfaces.slack.outbound import web_client

    users = [
        {"id": "U0BOB", "name": "bob", "real_name": "Bob", "email": people["bob"].email},
        {"id": "U0EVE", "name": "eve", "real_name": "Eve", "email": "eve@elsewhere.example"},
    ]
    services.update_safety_settings(
        client=in_hartwell,
        actor=people["alice"],
        autonomy="review",
        approval_threshold=50,
        approval_ttl_hours=24,
        compliance_profile="standard",
        notify_email=False,
    )
    with SlackSandbox(users=users) as sandbox:
        settings.SLACK_API_URL = sandbox.base_url + "/api/"
        routing.install(
            client=in_hartwell,
            kind="slack",
            workspace_id=DEMO_TEAM["id"],
            display_name="H",
            bot_token=sandbox.bot_token,
        )
        action = waiting("b1")
        message = compose.slack(in_hartwell, action, interactive=True)
        buttons = {e["action_id"]: e for e in message["blocks"][-1]["elements"]}
        api = web_client(sandbox.bot_token)
        click = {"type": "block_actions", "team": {"id": DEMO_TEAM["id"]}, "actions": [buttons["gaby_approve"]]}
        refused = decide({**click, "user": {"id": "U0EVE"}}, api)
        assert "not one of this client's approvers" in refused
        assert ToolAction.objects.get(pk=action.pk).status == ActionStatus.AWAITING_APPROVAL
        text = decide({**click, "user": {"id": "U0BOB", "username": "bob"}}, api)
        assert text.startswith(f"Approved by {people['bob'].email} in Slack")
        action.refresh_from_db()
        assert (action.status, action.decided_via) == ("approved", "slack")
        stranger = {**click, "team": {"id": "T0NOBODY"}, "user": {"id": "U0BOB"}}
        assert decide(stranger, api) == "This Slack workspace is not connected to Gaby."
