"""FND-7: an escalation reaches the escalation person as a Slack DM (users.lookupByEmail, conversations.open,
chat.postMessage with "Open the ticket" / "Open the investigation"), once, through the Slack stand-in over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from apps.agent.runtime import settings_for
from apps.agent.tasks import notify_escalation
from sandbox.slack import DEMO_TEAM, SlackSandbox
from tests.agent.test_escalation_notices import escalated  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


@contextmanager
def slack_installed(client: Any, settings: Any, users: list[dict[str, str]]) -> Iterator[SlackSandbox]:
    """The Slack stand-in with these users, and ``client`` installed in its workspace (inside its schema)."""
    from apps.chat.surfaces import routing

    with SlackSandbox(users=users) as sandbox:
        settings.SLACK_API_URL = sandbox.base_url + "/api/"
        token = sandbox.bot_token
        routing.install(client=client, kind="slack", workspace_id=DEMO_TEAM["id"], display_name="H", bot_token=token)
        yield sandbox


@pytest.fixture
def slack(in_hartwell: Any, settings: Any) -> Iterator[SlackSandbox]:
    from gaby_site.celery import app

    users = [{"id": "U0ONCALL", "name": "oncall", "real_name": "On Call", "email": "l2@hartwell.example"}]
    with slack_installed(in_hartwell, settings, users) as sandbox:
        previous, app.conf.task_always_eager = app.conf.task_always_eager, True
        yield sandbox
        app.conf.task_always_eager = previous


def escalate_to_oncall(investigation: Any, capture_on_commit: Any) -> None:
    """The on-call person (U0ONCALL in the stand-in) is the escalation recipient; the escalation is notified."""
    row = settings_for()
    row.escalation_email = "l2@hartwell.example"
    row.save()
    with capture_on_commit(execute=True):
        notify_escalation.run(str(investigation.pk))


def test_an_escalation_is_sent_as_a_slack_dm_with_both_buttons_once(
    escalated: Any,  # noqa: F811
    slack: SlackSandbox,
    in_hartwell: Any,
    mailoutbox: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from apps.chat.surfaces.slack.notices import escalation_dm

    escalate_to_oncall(escalated, django_capture_on_commit_callbacks)
    assert len(mailoutbox) == 1  # the email still goes out
    [dm] = slack.thread("D0ONCALL")
    buttons = {b["action_id"]: b["url"] for b in dm.blocks[-1]["elements"]}
    assert buttons["gaby_open_investigation"].endswith(f"/investigations/{escalated.pk}/")
    assert buttons["gaby_open_ticket"].endswith(f"/inbox/t/{escalated.ticket_id}/")
    assert "&lt;https://evil.example|pro&gt;" in dm.blocks[0]["text"]["text"]  # ticket text stays inert
    assert escalation_dm(str(escalated.pk)) == "sent-before"
    assert len(slack.thread("D0ONCALL")) == 1
