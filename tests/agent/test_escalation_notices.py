"""Escalations announced on Slack and Teams through the approval channels' webhooks (one seam), against a real
local HTTP receiver: the evidence summary and a link, each channel once, retries only for what failed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from apps.agent.escalation_notices import send_escalation_notices
from apps.agent.forms import AgentSettingsForm
from apps.agent.models import EscalationNotice
from apps.agent.runtime import settings_for
from apps.agent.tasks import notify_escalation
from apps.auditlog.models import AuditEvent
from apps.safety import services as safety
from apps.safety.models import NoticeState
from apps.safety.notify.webhooks import TransientWebhookError
from tests.agent.helpers import classify, investigate, route_all, verdict
from tests.http_receiver import Receiver, http_receiver
from tests.llm_server import ScriptedLLM

pytestmark = pytest.mark.django_db


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with http_receiver() as receiver:
        yield receiver


@pytest.fixture
def escalated(make_ticket: Any, llm: ScriptedLLM, in_hartwell: Any, people: dict[str, Any]) -> Any:
    """An investigation the model escalated, with an injection attempt in the ticket (it must stay inert text)."""
    route_all(in_hartwell, llm)
    escalation = verdict(
        verdict="needs_l2",
        summary="Needs a billing admin <!channel>",
        escalation_reason="Plan change needs an admin *now*",
        citations=["TICKET"],
    )
    llm.then(classify(), escalation)
    return investigate(make_ticket(title="Move us to <https://evil.example|pro> please"))


def _channels(client: Any, actor: Any, receiver: Receiver, *, slack: bool = True, teams: bool = True) -> None:
    changes = {
        "slack_webhook_url": f"{receiver.url}/services/T0/B0/x" if slack else "",
        "teams_webhook_url": f"{receiver.url}/webhookb2/abc" if teams else "",
    }
    safety.update_channels(client=client, changes=changes, actor=actor)


def _choose(*, slack: bool, teams: bool, email: str = "l2@hartwell.example") -> None:
    row = settings_for()
    row.escalation_slack, row.escalation_teams, row.escalation_email = slack, teams, email
    row.save()


def test_an_escalation_posts_its_evidence_and_link_to_slack_and_teams_once(
    escalated: Any, receiver: Receiver, in_hartwell: Any, people: dict[str, Any], mailoutbox: Any
) -> None:
    _channels(in_hartwell, people["alice"], receiver)
    _choose(slack=True, teams=True)
    assert notify_escalation.run(str(escalated.pk)) == "sent"
    slack, teams = receiver.on("/services/T0/B0/x"), receiver.on("/webhookb2/abc")
    assert len(slack) == 1 and len(teams) == 1 and len(mailoutbox) == 1
    link = f"/investigations/{escalated.pk}/"
    message = slack[0].json()
    text = message["blocks"][0]["text"]["text"]
    assert "Plan change needs an admin" in text and "&lt;!channel&gt;" in text and "<!channel>" not in text
    assert "&lt;https://evil.example|pro&gt;" in text  # the ticket's markup is shown, never a live link
    button = message["blocks"][-1]["elements"][0]
    assert button["url"].endswith(link) and "hartwell" in button["url"]
    card = teams[0].json()["attachments"][0]["content"]
    assert card["actions"][0]["url"].endswith(link)
    assert {"title": "Verdict", "value": "Needs L2 support"} in card["body"][1]["facts"]
    assert link in mailoutbox[0].body and mailoutbox[0].to == ["l2@hartwell.example"]
    # A redelivered task announces nothing twice.
    assert notify_escalation.run(str(escalated.pk)) == "already-sent"
    assert len(receiver.requests) == 2 and len(mailoutbox) == 1
    assert AuditEvent.objects.filter(event="escalation.notice_sent").count() == 3


def test_only_the_channels_the_client_chose_are_used(
    escalated: Any, receiver: Receiver, in_hartwell: Any, people: dict[str, Any], mailoutbox: Any
) -> None:
    _channels(in_hartwell, people["alice"], receiver)
    _choose(slack=False, teams=True, email="")
    assert notify_escalation.run(str(escalated.pk)) == "sent"
    assert [r.path for r in receiver.requests] == ["/webhookb2/abc"] and mailoutbox == []
    _choose(slack=False, teams=False, email="")
    other = EscalationNotice.objects.filter(investigation=escalated)
    assert list(other.values_list("channel", flat=True)) == ["teams"]


def test_a_slow_down_is_retried_without_announcing_twice(
    escalated: Any, receiver: Receiver, in_hartwell: Any, people: dict[str, Any], mailoutbox: Any, as_user: Any
) -> None:
    _channels(in_hartwell, people["alice"], receiver)
    _choose(slack=True, teams=True)
    # Slack answers 429 first, Teams fine (order: email, slack, teams).
    receiver.script = [(429, {"Retry-After": "3"}, "rate_limited"), 200]
    with pytest.raises(TransientWebhookError) as first:
        send_escalation_notices(str(escalated.pk))
    assert first.value.retry_after == 3
    assert send_escalation_notices(str(escalated.pk)) == (1, 3)  # only Slack again
    assert len(mailoutbox) == 1 and len(receiver.on("/webhookb2/abc")) == 1
    assert len(receiver.on("/services/T0/B0/x")) == 2
    slack = EscalationNotice.objects.get(investigation=escalated, channel="slack")
    assert (slack.state, slack.attempts) == (NoticeState.SENT, 2)
    # A deleted webhook is refused for good: kept with its error, not retried.
    receiver.script = [(404, {}, "no_service")]
    EscalationNotice.objects.filter(investigation=escalated, channel="teams").update(state=NoticeState.FAILED)
    assert send_escalation_notices(str(escalated.pk)) == (0, 3)
    teams = EscalationNotice.objects.get(investigation=escalated, channel="teams")
    assert teams.state == NoticeState.FAILED and "no_service" in teams.last_error
    assert send_escalation_notices(str(escalated.pk)) == (0, 3)
    # The page says where it was announced and what failed; another client sees nothing of it.
    page = as_user("bob", "hartwell").get(f"/investigations/{escalated.pk}/").content.decode()
    assert 'data-testid="escalation-notices"' in page and "teams: failed" in page and "no_service" in page
    assert "slack: sent" in page
    assert as_user("carol", "dearborn").get(f"/investigations/{escalated.pk}/").status_code in {403, 404}


def test_the_settings_form_needs_the_channel_webhook_first(in_hartwell: Any, people: dict[str, Any]) -> None:
    data = {
        "default_depth": "standard",
        "tone": "friendly",
        "knowledge_threshold": "0.45",
        "max_tokens": "60000",
        "max_usd": "0.5",
        "escalation_slack": "on",
        "escalation_teams": "on",
    }
    form = AgentSettingsForm(data, instance=settings_for(), client=in_hartwell)
    assert not form.is_valid()
    assert "Set a Slack webhook under Safety" in str(form.errors["escalation_slack"])
    with http_receiver() as receiver:
        _channels(in_hartwell, people["alice"], receiver, teams=False)
    form = AgentSettingsForm(data, instance=settings_for(), client=in_hartwell)
    assert not form.is_valid() and set(form.errors) == {"escalation_teams"}
