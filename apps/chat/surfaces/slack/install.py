"""Installing Gaby in a client's Slack workspace: OAuth v2 (https://docs.slack.dev/authentication/installing-with-oauth).

An Admin of the client presses "Add to Slack" on the client's Slack page: ``authorize_url`` sends them to Slack's
consent screen with the scopes below and a ``state`` signed with Django's secret key, naming the client and the user
and valid ``STATE_MAX_AGE`` seconds. Slack sends them back to one callback on the portal host (the MSP's Slack app has
one redirect URL for every client); ``complete`` checks the state against the signed-in user and their Admin
membership, exchanges the code with ``oauth.v2.access`` and installs (``routing.install``: the bot token sealed with the
client's key, the team routed to the client). ``channels`` lists the workspace's channels (``conversations.list``,
cursor-paged) for the settings page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core import signing
from django.urls import reverse
from slack_sdk.errors import SlackApiError

from apps.accounts.models import Membership, Role
from apps.chat.models import ChatSurfaceInstall, Surface
from apps.chat.surfaces import routing
from apps.chat.surfaces.slack.outbound import web_client
from tenants.addresses import portal_url
from tenants.models import Client

SCOPES = (
    "app_mentions:read",
    "channels:history",
    "channels:read",
    "chat:write",
    "groups:read",
    "im:history",
    "im:read",
    "im:write",
    "users:read",
    "users:read.email",
)
STATE_SALT = "gaby.slack.install"
STATE_MAX_AGE = 600
MAX_CHANNEL_PAGES = 20


class InstallRefused(ValueError):
    """The install cannot finish; the message says why and what to do."""


def configured() -> bool:
    return bool(settings.SLACK_CLIENT_ID and settings.SLACK_CLIENT_SECRET and settings.SLACK_SIGNING_SECRET)


def redirect_uri() -> str:
    scheme = "https" if settings.HTTPS else "http"
    port = None if settings.HTTPS else settings.PUBLIC_PORT
    callback = reverse("slack_oauth_callback", urlconf=settings.PUBLIC_SCHEMA_URLCONF)
    return portal_url(scheme=scheme, port=port).rstrip("/") + callback


def authorize_url(*, client: Client, user: Any) -> str:
    state = signing.dumps({"client": client.schema_name, "user": str(user.pk)}, salt=STATE_SALT)
    query = {
        "client_id": settings.SLACK_CLIENT_ID,
        "scope": ",".join(SCOPES),
        "redirect_uri": redirect_uri(),
        "state": state,
    }
    return f"{settings.SLACK_OAUTH_AUTHORIZE_URL}?{urlencode(query)}"


@dataclass(frozen=True)
class Installed:
    client: Client
    install: ChatSurfaceInstall


def complete(*, code: str, state: str, user: Any) -> Installed:
    """Finish the OAuth flow for the signed-in ``user``; raises ``InstallRefused`` with the reason."""
    try:
        claims = signing.loads(state, salt=STATE_SALT, max_age=STATE_MAX_AGE)
    except signing.SignatureExpired:
        raise InstallRefused("The Slack install took too long: press “Add to Slack” again.") from None
    except signing.BadSignature:
        raise InstallRefused("This Slack install link was not started by Gaby: start it from the Slack page.") from None
    if not getattr(user, "is_authenticated", False) or str(user.pk) != claims.get("user"):
        raise InstallRefused("Sign in as the person who started the install, then press “Add to Slack” again.")
    client = Client.objects.filter(schema_name=claims.get("client"), is_active=True).first()
    membership = Membership.objects.filter(user=user, client=client).first() if client else None
    if client is None or membership is None or not membership.allows(Role.ADMIN):
        raise InstallRefused("Only an Admin of the client can install Gaby in Slack.")
    if not code:
        raise InstallRefused("Slack did not send an authorization code (was the install cancelled?).")
    try:
        granted = web_client().oauth_v2_access(
            client_id=settings.SLACK_CLIENT_ID,
            client_secret=settings.SLACK_CLIENT_SECRET,
            code=code,
            redirect_uri=redirect_uri(),
        )
    except SlackApiError as exc:
        raise InstallRefused(f"Slack refused the install: {exc.response.get('error', 'unknown error')}.") from exc
    team = granted.get("team") or {}
    try:
        row = routing.install(
            client=client,
            kind=Surface.SLACK,
            workspace_id=str(team.get("id", "")),
            display_name=str(team.get("name", "")),
            bot_token=str(granted.get("access_token", "")),
            bot_user_id=str(granted.get("bot_user_id", "")),
            installed_by=user.pk,
        )
    except routing.InstallError as exc:
        raise InstallRefused(str(exc)) from exc
    return Installed(client, row)


def channels(client: Client, row: ChatSurfaceInstall) -> list[dict[str, str]]:
    """The workspace's public and private channels Gaby can see, by name (every page of ``conversations.list``)."""
    api = web_client(routing.bot_token(client, row))
    found: list[dict[str, str]] = []
    cursor = ""
    for _ in range(MAX_CHANNEL_PAGES):
        page = api.conversations_list(
            types="public_channel,private_channel", exclude_archived=True, limit=200, cursor=cursor or None
        )
        listed: list[dict[str, Any]] = page.get("channels", [])
        found += [{"id": str(c["id"]), "name": str(c.get("name", c["id"]))} for c in listed]
        cursor = str((page.get("response_metadata") or {}).get("next_cursor") or "")
        if not cursor:
            break
    return sorted(found, key=lambda c: c["name"])
