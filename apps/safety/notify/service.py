"""Send approval notices once each, and turn a signed link or a Slack click into the same approve/reject.

``send_notices`` plans one ``ApprovalNotice`` per channel and recipient (a unique row, so planning twice plans
once), claims each with a conditional UPDATE before sending, and raises ``TransientWebhookError`` for the task
to retry what failed for a passing reason; a notice that was sent is never sent again.
"""

from __future__ import annotations

import hashlib
import hmac
import smtplib
import time
from dataclasses import dataclass
from typing import Any

import structlog
from django.core.mail import send_mail
from django.db import connection
from django.db.models import F
from django.utils import timezone

from apps.accounts.models import Membership, Role, User
from apps.auditlog import audit
from apps.auditlog.models import ActorKind
from apps.safety import enforcement
from apps.safety.client_settings import Channels, approval_ttl, channels, safety_settings
from apps.safety.models import ActionStatus, ApprovalNotice, DecidedVia, NoticeChannel, NoticeState, ToolAction
from apps.safety.notify import compose, slack_app
from apps.safety.notify.links import LinkClaim, read_token
from apps.safety.notify.webhooks import TransientWebhookError, WebhookClient, WebhookError
from tenants.models import Client

log = structlog.get_logger(__name__)
MAX_ATTEMPTS = 5
SLACK_MAX_SKEW = 300  # seconds: Slack's own advice for rejecting replayed requests
APPROVER_ROLES = (Role.ADMIN, Role.AGENT)


class Refused(Exception):
    """This person may not decide this action here; the message says why."""


def _client() -> Client:
    tenant = getattr(connection, "tenant", None)
    if not isinstance(tenant, Client) or tenant.is_public:
        raise RuntimeError("Approval notices are sent inside a client's schema.")
    return tenant


def approvers(client: Client) -> list[User]:
    """Who may decide (Agents and Admins of the client, like the web queue)."""
    return list(
        User.objects.filter(memberships__client=client, memberships__role__in=APPROVER_ROLES, is_active=True).order_by(
            "email"
        )
    )


def _plan(client: Client, action: ToolAction, chans: Channels) -> None:
    planned = []
    if safety_settings().notify_email:
        planned += [(NoticeChannel.EMAIL, user.email) for user in approvers(client)]
    if chans.slack or slack_app.target(client):
        planned.append((NoticeChannel.SLACK, ""))
    if chans.teams:
        planned.append((NoticeChannel.TEAMS, ""))
    ApprovalNotice.objects.bulk_create(
        [ApprovalNotice(action=action, channel=channel, recipient=recipient) for channel, recipient in planned],
        ignore_conflicts=True,
    )


def _deliver(client: Client, action: ToolAction, notice: ApprovalNotice, chans: Channels, http: WebhookClient) -> None:
    if notice.channel == NoticeChannel.EMAIL:
        user = User.objects.filter(email=notice.recipient, is_active=True).first()
        if user is None:
            raise WebhookError("The approver's account no longer exists.")
        subject, body = compose.email(client, action, str(user.pk))
        send_mail(subject=subject, message=body, from_email=None, recipient_list=[notice.recipient])
    elif notice.channel == NoticeChannel.SLACK:
        channel = slack_app.target(client)
        if channel:  # the Slack app: its Bolt handler answers the buttons, so they are always interactive
            slack_app.post(client, channel, compose.slack(client, action, interactive=True))
        else:
            http.post_json(chans.slack_webhook_url, compose.slack(client, action, interactive=chans.slack_interactive))
    else:
        http.post_json(chans.teams_webhook_url, compose.teams(client, action))


def send_notices(action_id: str, *, http: WebhookClient | None = None) -> int:
    """Notify approvers of one waiting action on every configured channel; returns how many were sent now."""
    action = ToolAction.objects.select_related("connector").filter(pk=action_id).first()
    if action is None or action.status != ActionStatus.AWAITING_APPROVAL:
        return 0  # decided (or gone) before the notice went out: nothing to ask
    client, http = _client(), http or WebhookClient()
    chans = channels(client)
    _plan(client, action, chans)
    sent, transient = 0, None
    for notice in action.notices.filter(state__in=[NoticeState.PENDING, NoticeState.FAILED], attempts__lt=MAX_ATTEMPTS):
        claimed = ApprovalNotice.objects.filter(pk=notice.pk, state=notice.state).update(
            state=NoticeState.SENDING, attempts=F("attempts") + 1
        )
        if not claimed:
            continue  # another worker has it
        try:
            _deliver(client, action, notice, chans, http)
        except (TransientWebhookError, smtplib.SMTPException, OSError) as exc:
            transient = exc if isinstance(exc, TransientWebhookError) else TransientWebhookError(str(exc))
            ApprovalNotice.objects.filter(pk=notice.pk).update(state=NoticeState.FAILED, last_error=str(exc)[:2000])
        except WebhookError as exc:  # permanent: keep the error, stop retrying
            ApprovalNotice.objects.filter(pk=notice.pk).update(
                state=NoticeState.FAILED, last_error=str(exc)[:2000], attempts=MAX_ATTEMPTS
            )
        else:
            ApprovalNotice.objects.filter(pk=notice.pk).update(state=NoticeState.SENT, sent_at=timezone.now())
            audit.record(
                event="approval.notice_sent",
                payload={"action": str(action.pk), "channel": notice.channel, "recipient": notice.recipient},
            )
            sent += 1
    if transient is not None:
        raise transient
    return sent


# --- Deciding from a link or a Slack click -----------------------------------------------------------------


def _approver(client: Client, user: User | None) -> User:
    if user is None or not user.is_active:
        raise Refused("Sign in to decide.")
    membership = Membership.objects.filter(user=user, client=client).first()
    if membership is None or not membership.allows(Role.AGENT):
        raise Refused(f"Deciding needs the Agent or Admin role of {client.name}.")
    return user


@dataclass(frozen=True)
class LinkTarget:
    claim: LinkClaim
    action: ToolAction
    actor: User


def open_link(*, token: str, session_user: User | None) -> LinkTarget:
    """Check a link and who would decide with it; nothing is decided here (the confirm page's GET)."""
    client = _client()
    claim = read_token(token, schema=client.schema_name, max_age=approval_ttl())
    action = ToolAction.objects.select_related("connector").filter(pk=claim.action_id).first()
    if action is None:
        raise Refused("This action no longer exists.")
    # An emailed link is bound to its recipient; a link posted to a channel acts as whoever is signed in.
    user = User.objects.filter(pk=claim.user_id).first() if claim.user_id else session_user
    if claim.user_id and session_user is not None and session_user.is_authenticated and session_user != user:
        raise Refused("This link was sent to someone else; open the Approvals page instead.")
    return LinkTarget(claim, action, _approver(client, user))


def decide_from_link(*, token: str, session_user: User | None, note: str) -> ToolAction:
    """The confirm page's POST: the same approve/reject as the web queue (raises enforcement.ActionError)."""
    target = open_link(token=token, session_user=session_user)
    via = target.claim.channel or DecidedVia.EMAIL
    if target.claim.decision == "approve":
        return enforcement.approve(action=target.action, actor=target.actor, note=note, via=via)
    return enforcement.reject(action=target.action, actor=target.actor, note=note, via=via)


def verify_slack_signature(
    *, signing_secret: str, timestamp: str, body: bytes, signature: str, now: float | None = None
) -> None:
    """Slack's v0 scheme: ``v0=`` + HMAC-SHA256(secret, ``v0:{timestamp}:{raw body}``), timestamp within 5 min."""
    if not signing_secret:
        raise Refused("Slack buttons are not set up for this client (no signing secret).")
    if not timestamp.isdigit() or abs((now or time.time()) - int(timestamp)) > SLACK_MAX_SKEW:
        raise Refused("Stale or missing Slack timestamp.")
    base = b"v0:" + timestamp.encode() + b":" + body
    expected = "v0=" + hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature):
        raise Refused("Bad Slack signature.")


def decide_from_slack(*, payload: dict[str, Any], chans: Channels) -> tuple[ToolAction, str]:
    """A verified ``block_actions`` click on Approve/Reject: map the Slack user to a Gaby approver and decide."""
    client = _client()
    element = next((a for a in payload.get("actions") or [] if str(a.get("action_id", "")).startswith("gaby_")), None)
    if element is None or not element.get("value"):
        raise Refused("Not a Gaby approval button.")
    claim = read_token(str(element["value"]), schema=client.schema_name, max_age=approval_ttl())
    slack_user = dict(payload.get("user") or {})
    email = chans.slack_users.get(str(slack_user.get("id", "")))
    user = User.objects.filter(email=email).first() if email else None
    if user is None:
        audit.record(
            event="approval.slack_refused",
            actor_kind=ActorKind.SYSTEM,
            payload={"action": claim.action_id, "slack_user": slack_user.get("id", "")},
        )
        raise Refused("Your Slack account is not one of this client's approvers; ask an admin to add it in Gaby.")
    actor = _approver(client, user)
    action = ToolAction.objects.select_related("connector").filter(pk=claim.action_id).first()
    if action is None:
        raise Refused("This action no longer exists.")
    who = slack_user.get("username") or slack_user.get("name") or slack_user.get("id")
    if claim.decision == "approve":
        action = enforcement.approve(
            action=action, actor=actor, note=f"Approved in Slack by {who}", via=DecidedVia.SLACK
        )
        return action, f"Approved by {actor.email} in Slack: {action.tool_name} will run once."
    action = enforcement.reject(action=action, actor=actor, note=f"Rejected in Slack by {who}", via=DecidedVia.SLACK)
    return action, f"Rejected by {actor.email} in Slack: {action.tool_name} will not run."
