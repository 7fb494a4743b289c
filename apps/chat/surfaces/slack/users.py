"""Who a Slack user is: ``users.info``'s email (Slack verifies it; needs the ``users:read.email`` scope) and name."""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

log = logging.getLogger(__name__)


def lookup(client: WebClient, user_id: str) -> tuple[str, str]:
    """(verified email, name) of a Slack user ("" email: none shared, a bot, or the lookup failed)."""
    try:
        user = client.users_info(user=user_id).get("user") or {}
    except SlackApiError as exc:
        log.warning("slack users.info failed", extra={"user": user_id, "error": str(exc)})
        return "", ""
    if user.get("is_bot") or user.get("deleted"):
        return "", ""
    profile = user.get("profile") or {}
    return str(profile.get("email") or ""), str(user.get("real_name") or profile.get("real_name") or user.get("name"))


def user_email(client: WebClient, user_id: str) -> str:
    return lookup(client, user_id)[0]
