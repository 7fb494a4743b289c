"""Approvals by email (real SMTP: aiosmtpd), Slack (real HTTP receiver + signed interactivity POSTs) and Teams
(real HTTP receiver + the confirm page). Every path approves through the same service: the action runs once."""

import email
import email.policy
import hashlib
import hmac
import json
import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiosmtpd.controller import Controller
from django.db import connection

from apps.accounts.models import Membership, Role
from apps.auditlog.models import AuditEvent
from apps.safety import enforcement, services
from apps.safety.enforcement import CallContext, run_tool
from apps.safety.models import ActionStatus, ApprovalNotice, NoticeState, ToolAction
from apps.safety.notify.service import send_notices
from apps.safety.notify.webhooks import TransientWebhookError
from tenants.models import Client
from tests.http_receiver import Receiver, http_receiver
from tests.safety.conftest import balances

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


class Captured:
    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        body = parsed.get_body(preferencelist=("plain",))
        text = f"Subject: {parsed['subject']}\n\n{body.get_content() if body else ''}"
        self.messages.append({"to": list(envelope.rcpt_tos), "data": text})
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp(settings: Any) -> Iterator[Captured]:
    handler = Captured()
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS = "127.0.0.1", controller.port, False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    yield handler
    controller.stop()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with http_receiver() as receiver:
        yield receiver


@pytest.fixture
def waiting(ledger: Any, in_hartwell: Client) -> Any:
    """``waiting(key)`` → a credit of 7 waiting for approval (Hartwell in Review mode)."""
    Client.objects.filter(pk=in_hartwell.pk).update(autonomy="review")
    in_hartwell.refresh_from_db()
    connector = ledger()

    def make(key: str = "w1") -> ToolAction:
        return run_tool(
            connector=connector,
            tool_name="credit",
            arguments={"account": "acme", "amount": 7},
            context=CallContext(idempotency_key=key, purpose="refund for ticket #12"),
        )

    return make


def _links(message: str) -> dict[str, str]:
    return {m[0].lower(): urlsplit(m[1]).path for m in re.findall(r"^(Approve|Reject): (\S+)", message, re.M)}


def test_an_emailed_link_confirms_then_approves_once(
    waiting: Any, smtp: Captured, ledger_file: Path, in_hartwell: Client, as_user: Any, people: dict[str, Any]
) -> None:
    action = waiting()
    assert send_notices(str(action.pk)) == 3  # alice (Admin), bob (Agent), mona (MSP staff, Admin)
    assert send_notices(str(action.pk)) == 0  # planned and sent once
    to_bob = next(m for m in smtp.messages if m["to"] == [people["bob"].email])
    assert "Approval needed: Ledger → credit (risk 40)" in to_bob["data"] and "refund for ticket #12" in to_bob["data"]
    links = _links(to_bob["data"])
    anonymous = as_user(None, "hartwell")
    page = anonymous.get(links["approve"])  # a GET never acts, even a prefetching mail scanner's
    assert page.status_code == 200 and b'data-testid="confirm-form"' in page.content
    assert b"bob@hartwell.example" in page.content
    connection.set_tenant(in_hartwell)
    assert ToolAction.objects.get(pk=action.pk).status == ActionStatus.AWAITING_APPROVAL
    done = anonymous.post(links["approve"], {"note": "from my phone"})
    assert done.status_code == 200 and b'data-testid="confirm-done"' in done.content
    connection.set_tenant(in_hartwell)
    action.refresh_from_db()
    assert (action.status, action.decided_by, action.decided_via) == ("approved", str(people["bob"].pk), "email")
    assert enforcement.run_approved(str(action.pk)) and not enforcement.run_approved(str(action.pk))
    assert balances(ledger_file) == {"acme": 107}
    again = anonymous.post(links["reject"], {"note": "changed my mind"})  # single use: the action is decided
    assert again.status_code == 409 and b"can no longer be rejected" in again.content
    assert b"Already decided" in anonymous.get(links["approve"]).content
    connection.set_tenant(in_hartwell)
    assert AuditEvent.objects.filter(event="approval.notice_sent").count() == 3
    assert AuditEvent.objects.get(event="approval.approved").payload["via"] == "email"


def test_a_link_cannot_be_forged_moved_or_used_by_someone_else(
    waiting: Any, smtp: Captured, in_hartwell: Client, as_user: Any, people: dict[str, Any]
) -> None:
    action = waiting()
    send_notices(str(action.pk))
    links = _links(next(m for m in smtp.messages if m["to"] == [people["bob"].email])["data"])
    tampered = links["approve"].replace("/confirm/", "/confirm/x")
    assert as_user(None, "hartwell").post(tampered).status_code == 400
    assert b"belongs to another client" in as_user(None, "dearborn").post(links["approve"]).content
    assert as_user("alice", "hartwell").post(links["approve"]).status_code == 403  # sent to bob, not alice
    assert as_user("carol", "dearborn").post(links["approve"]).status_code == 400
    Membership.objects.filter(user=people["bob"], client=in_hartwell).update(role=Role.VIEWER)
    assert as_user(None, "hartwell").post(links["approve"]).status_code == 403  # bob lost the right since
    connection.set_tenant(in_hartwell)
    assert ToolAction.objects.get(pk=action.pk).status == ActionStatus.AWAITING_APPROVAL


def _slack_post(client: Any, payload: dict[str, Any], *, secret: str = SECRET, skew: int = 0) -> Any:
    body = "payload=" + json.dumps(payload).replace("%", "%25").replace("&", "%26").replace("+", "%2B")
    timestamp = str(int(time.time()) - skew)
    signature = "v0=" + hmac.new(secret.encode(), f"v0:{timestamp}:{body}".encode(), hashlib.sha256).hexdigest()
    return client.post(
        "/safety/slack/interactions/",
        body,
        content_type="application/x-www-form-urlencoded",
        HTTP_X_SLACK_REQUEST_TIMESTAMP=timestamp,
        HTTP_X_SLACK_SIGNATURE=signature,
    )


def test_slack_buttons_approve_through_the_same_service(
    waiting: Any, receiver: Receiver, ledger_file: Path, in_hartwell: Client, as_user: Any, people: dict[str, Any]
) -> None:
    services.update_channels(
        client=in_hartwell,
        actor=people["alice"],
        changes={
            "slack_webhook_url": f"{receiver.url}/services/T1/B1/x",
            "slack_signing_secret": SECRET,
            "slack_users": {"U0BOB": people["bob"].email},
        },
    )
    services.update_safety_settings(
        client=in_hartwell,
        actor=people["alice"],
        autonomy="review",
        approval_threshold=50,
        approval_ttl_hours=24,
        compliance_profile="standard",
        notify_email=False,
    )
    action, other = waiting("s1"), waiting("s2")
    assert send_notices(str(action.pk)) == 1
    message = receiver.on("/services/T1/B1/x")[0].json()
    buttons = {e["action_id"]: e for e in message["blocks"][-1]["elements"]}
    assert message["text"].startswith("Approval needed: Ledger → credit")
    assert set(buttons) == {"gaby_approve", "gaby_reject"}
    click = {
        "type": "block_actions",
        "user": {"id": "U0BOB", "username": "bob"},
        "response_url": f"{receiver.url}/actions/resp1",
        "actions": [buttons["gaby_approve"]],
    }
    slack = as_user(None, "hartwell")
    assert _slack_post(slack, click, secret="wrong").status_code == 403
    assert _slack_post(slack, click, skew=600).status_code == 403  # a replay from ten minutes ago
    response = _slack_post(slack, click)
    assert response.status_code == 200 and "Approved by bob@hartwell.example" in response.json()["text"]
    assert receiver.on("/actions/resp1")[0].json()["replace_original"] is True
    assert "can no longer be approved" in _slack_post(slack, click).json()["text"]  # a double click acts once
    connection.set_tenant(in_hartwell)
    action.refresh_from_db()
    assert (action.status, action.decided_via) == ("approved", "slack")
    assert enforcement.run_approved(str(action.pk)) and not enforcement.run_approved(str(action.pk))
    assert balances(ledger_file) == {"acme": 107}
    # A click by someone who is not a mapped approver is refused and audited; the action keeps waiting.
    send_notices(str(other.pk))
    other_buttons = {e["action_id"]: e for e in receiver.on("/services/T1/B1/x")[1].json()["blocks"][-1]["elements"]}
    stranger = {**click, "user": {"id": "U0EVE"}, "actions": [other_buttons["gaby_approve"]]}
    assert "not one of this client's approvers" in _slack_post(slack, stranger).json()["text"]
    connection.set_tenant(in_hartwell)
    assert ToolAction.objects.get(pk=other.pk).status == ActionStatus.AWAITING_APPROVAL
    assert AuditEvent.objects.filter(event="approval.slack_refused").exists()


def test_teams_card_links_need_a_signed_in_approver(
    waiting: Any, receiver: Receiver, in_hartwell: Client, as_user: Any, people: dict[str, Any]
) -> None:
    services.update_channels(
        client=in_hartwell, actor=people["alice"], changes={"teams_webhook_url": f"{receiver.url}/webhookb2/abc"}
    )
    services.update_safety_settings(
        client=in_hartwell,
        actor=people["alice"],
        autonomy="review",
        approval_threshold=50,
        approval_ttl_hours=24,
        compliance_profile="standard",
        notify_email=False,
    )
    action = waiting("t1")
    assert send_notices(str(action.pk)) == 1
    card = receiver.on("/webhookb2/abc")[0].json()["attachments"][0]["content"]
    urls = {a["title"]: urlsplit(a["url"]).path for a in card["actions"]}
    assert card["type"] == "AdaptiveCard" and set(urls) == {"Approve…", "Reject…"}
    anonymous = as_user(None, "hartwell").get(urls["Reject…"])
    assert anonymous.status_code == 403 and b'data-testid="confirm-sign-in"' in anonymous.content
    assert as_user("carol", "hartwell").post(urls["Reject…"], {"note": "x"}).status_code == 403
    bob = as_user("bob", "hartwell")
    assert bob.post(urls["Reject…"], {"note": ""}).status_code == 409  # a rejection needs a reason
    assert bob.post(urls["Reject…"], {"note": "wrong account"}).status_code == 200
    connection.set_tenant(in_hartwell)
    action.refresh_from_db()
    assert (action.status, action.decided_via, action.decision_note) == ("rejected", "teams", "wrong account")


def test_a_webhook_that_says_slow_down_is_retried_without_duplicates(
    waiting: Any, receiver: Receiver, in_hartwell: Client, people: dict[str, Any]
) -> None:
    services.update_channels(
        client=in_hartwell, actor=people["alice"], changes={"teams_webhook_url": f"{receiver.url}/webhookb2/abc"}
    )
    services.update_safety_settings(
        client=in_hartwell,
        actor=people["alice"],
        autonomy="review",
        approval_threshold=50,
        approval_ttl_hours=24,
        compliance_profile="standard",
        notify_email=False,
    )
    action = waiting("r1")
    receiver.script = [(429, {"Retry-After": "7"}, "Too many requests"), (502, {}, "bad gateway")]
    with pytest.raises(TransientWebhookError) as first:
        send_notices(str(action.pk))
    assert first.value.retry_after == 7
    with pytest.raises(TransientWebhookError):
        send_notices(str(action.pk))
    assert send_notices(str(action.pk)) == 1 and send_notices(str(action.pk)) == 0
    assert len(receiver.requests) == 3
    notice = ApprovalNotice.objects.get(action=action)
    assert (notice.state, notice.attempts) == (NoticeState.SENT, 3)
    receiver.script = [(404, {}, "no_service")]  # a deleted webhook: permanent, kept with its error
    other = waiting("r2")
    assert send_notices(str(other.pk)) == 0 and send_notices(str(other.pk)) == 0
    failed = ApprovalNotice.objects.get(action=other)
    assert failed.state == NoticeState.FAILED and "no_service" in failed.last_error


def test_channels_are_admin_only_sealed_and_audited_by_name(in_hartwell: Client, as_user: Any) -> None:
    form = {
        "slack_webhook_url": "https://hooks.slack.com/services/T1/B1/secretpart",
        "slack_signing_secret": SECRET,
        "slack_users": "U0BOB bob@hartwell.example",
    }
    assert as_user("bob", "hartwell").post("/safety/settings/channels/", form).status_code == 403
    alice = as_user("alice", "hartwell")
    assert alice.post("/safety/settings/channels/", {"slack_users": "U0BOB"}).status_code == 400
    response = alice.post("/safety/settings/channels/", form, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and b"buttons active for 1 approver" in response.content
    page = alice.get("/safety/settings/").content.decode()
    assert "secretpart" not in page and SECRET not in page
    assert "/safety/slack/interactions/" in page
    connection.set_tenant(in_hartwell)
    event = AuditEvent.objects.get(event="safety.channels_changed")
    assert event.payload == {"changed": ["slack_signing_secret", "slack_users", "slack_webhook_url"]}


def test_the_queue_shows_who_was_asked_and_what_failed(
    waiting: Any, receiver: Receiver, in_hartwell: Client, as_user: Any, people: dict[str, Any]
) -> None:
    services.update_channels(
        client=in_hartwell, actor=people["alice"], changes={"teams_webhook_url": f"{receiver.url}/webhookb2/gone"}
    )
    services.update_safety_settings(
        client=in_hartwell,
        actor=people["alice"],
        autonomy="review",
        approval_threshold=50,
        approval_ttl_hours=24,
        compliance_profile="standard",
        notify_email=False,
    )
    action = waiting("q1")
    receiver.script = [(410, {}, "channel_is_archived")]
    send_notices(str(action.pk))
    page = as_user("bob", "hartwell").get("/approvals/").content.decode()
    assert f'data-testid="notices-{action.pk}"' in page and "Microsoft Teams (failed:" in page
    assert "channel_is_archived" in page
