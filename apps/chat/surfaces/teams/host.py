"""The Microsoft 365 Agents SDK hosted in Django: the SDK ships aiohttp and FastAPI hosts, not a Django one, so this
module is the Django equivalent of ``microsoft_agents.hosting.aiohttp``'s ``CloudAdapter.process`` — a request
object the SDK's ``HttpAdapterBase.process_request`` can read, and the factory that gives each turn (and each later
answer) a ``ConnectorClient`` carrying the bot's token.

The channel's bearer token is checked before the SDK sees the request (``auth.authenticate``), as the aiohttp host's
``jwt_authorization_middleware`` does; the resulting claims are what ``get_claims_identity`` returns.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import HttpRequest
from microsoft_agents.hosting.core import (
    ChannelServiceClientFactoryBase,
    ClaimsIdentity,
    ConnectorClient,
    HttpAdapterBase,
    OutboundHostValidator,
    TurnContext,
)
from microsoft_agents.hosting.core.connector import ConnectorClientBase, UserTokenClientBase
from microsoft_agents.hosting.core.connector.client import UserTokenClient

from apps.chat.surfaces.teams.auth import bot_token

log = logging.getLogger(__name__)
USER_TOKEN_SERVICE = "https://api.botframework.com"


class DjangoActivityRequest:
    """``HttpRequestProtocol`` over a Django request whose token was already validated."""

    def __init__(self, request: HttpRequest, claims: ClaimsIdentity) -> None:
        self._request = request
        self._claims = claims

    @property
    def method(self) -> str:
        return self._request.method or ""

    @property
    def headers(self) -> Mapping[str, str]:
        return self._request.headers

    async def json(self) -> dict[str, Any]:
        parsed = json.loads(self._request.body or b"null")
        if not isinstance(parsed, dict):
            raise ValueError("The activity must be a JSON object.")
        return parsed

    def get_claims_identity(self) -> ClaimsIdentity:
        return self._claims

    def get_path_param(self, name: str) -> str:
        return str((self._request.resolver_match.kwargs if self._request.resolver_match else {}).get(name, ""))


def host_validator() -> OutboundHostValidator:
    return OutboundHostValidator(enabled=settings.TEAMS_CHECK_SERVICE_HOSTS)


async def connector_for(service_url: str) -> ConnectorClient:
    """A Bot Connector client for this ``serviceUrl`` with the bot's token (fetched or cached off the event loop)."""
    token = await sync_to_async(bot_token.get, thread_sensitive=False)()
    session = host_validator().client({"base_url": service_url})
    return ConnectorClient(service_url, token, session=session)


class GabyClientFactory(ChannelServiceClientFactoryBase):
    """The SDK's ``RestChannelServiceClientFactory`` asks MSAL for tokens; this one uses ``auth.bot_token``."""

    async def create_connector_client(
        self,
        context: TurnContext | None,
        claims_identity: ClaimsIdentity,
        service_url: str,
        audience: str,
        scopes: list[str] | None = None,
        use_anonymous: bool = False,
    ) -> ConnectorClientBase:
        return await connector_for(service_url)

    async def create_user_token_client(
        self, context: TurnContext, claims_identity: ClaimsIdentity, use_anonymous: bool = False
    ) -> UserTokenClientBase:
        # Gaby uses no user sign-in (OAuth cards); the SDK builds this client for every turn all the same.
        return UserTokenClient(USER_TOKEN_SERVICE, "", app_id=settings.TEAMS_APP_ID)


class GabyTeamsAdapter(HttpAdapterBase):
    def __init__(self) -> None:
        super().__init__(channel_service_client_factory=GabyClientFactory(), host_validator=host_validator())

        async def on_turn_error(context: TurnContext, error: Exception) -> None:
            # The SDK's default sends the exception's text to the user; the log keeps it, the user gets an apology.
            log.exception("teams turn failed", exc_info=error)
            await context.send_activity("Sorry, something went wrong on my side. Please try again in a moment.")

        self.on_turn_error = on_turn_error
