"""Who a Slack user is: ``users.info``'s email (Slack verifies it; needs the ``users:read.email`` scope) and name."""

from __future__ import annotations

import logging

from django.core.cache import cache
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

log = logging.getLogger(__name__)


CACHE_SECONDS = 300  # a burst of messages from one person costs one users.info (Slack rate-limits it)


def lookup(client: WebClient, user_id: str, *, team_id: str = "") -> tuple[str, str]:
    """(verified email, name) of a Slack user ("" email: none shared, a bot, or the lookup failed)."""
    key = f"gaby:slack-user:{team_id}:{user_id}"
    cached = cache.get(key) if team_id else None
    if isinstance(cached, list) and len(cached) == 2:
        return str(cached[0]), str(cached[1])
    found = _fetch(client, user_id)
    if team_id and found[0]:
        cache.set(key, list(found), CACHE_SECONDS)
    return found


def _fetch(client: WebClient, user_id: str) -> tuple[str, str]:
    try:
        user = client.users_info(user=user_id).get("user") or {}
    except SlackApiError as exc:
        if exc.response is not None and (exc.response.status_code == 429 or exc.response.status_code >= 500):
            raise  # busy, not an answer: the caller's task retries
        log.warning("slack users.info failed", extra={"user": user_id, "error": str(exc)})
        return "", ""
    if user.get("is_bot") or user.get("deleted"):
        return "", ""
    profile = user.get("profile") or {}
    return str(profile.get("email") or ""), str(user.get("real_name") or profile.get("real_name") or user.get("name"))


def user_email(client: WebClient, user_id: str) -> str:
    return lookup(client, user_id)[0]
