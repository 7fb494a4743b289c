"""Who may talk to the Teams endpoint and how Gaby talks back: the channel's JWT checked by the Microsoft 365 Agents
SDK's own ``JwtTokenValidator``, and the bot's client-credentials token for the Bot Connector API.

Configuration (``gaby_site.settings``): ``TEAMS_APP_ID`` / ``TEAMS_APP_PASSWORD`` (the Azure Bot's Entra app
registration), ``TEAMS_TOKEN_URL`` (default Microsoft's ``login.microsoftonline.com/botframework.com`` token
endpoint), ``TEAMS_OPENID_METADATA_URL`` (empty: the keys the SDK fetches from Microsoft; set: another channel's
OpenID metadata, e.g. the local stand-in ``sandbox.teams``).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import urllib.request
from dataclasses import dataclass
from typing import Any

import httpx
from django.conf import settings
from jwt import PyJWK, PyJWKClient
from microsoft_agents.hosting.core import AgentAuthConfiguration, ClaimsIdentity, JwtTokenValidator

from apps.core import outbound_http

BOT_FRAMEWORK_SCOPE = "https://api.botframework.com/.default"
TOKEN_MARGIN_SECONDS = 300  # renew a bot token this long before it expires


class TeamsAuthError(Exception):
    """The request's bearer token is missing or not valid; it gets a 401 and nothing is processed."""


class TeamsNotConfigured(RuntimeError):
    """The Teams bot's app id or password is not set; the message says which variable."""


def _require_app() -> tuple[str, str]:
    app_id, password = settings.TEAMS_APP_ID, settings.TEAMS_APP_PASSWORD
    if not app_id or not password:
        raise TeamsNotConfigured(
            "Microsoft Teams is not configured: set GABY_TEAMS_APP_ID and GABY_TEAMS_APP_PASSWORD (or _FILE) to the "
            "Azure Bot's Microsoft App ID and a client secret of its Entra app registration."
        )
    return app_id, password


class MetadataKeys:
    """Signing keys from a configured OpenID metadata document (``jwks_uri``), for the SDK's validator.

    The SDK picks its JWKS URL from constants (``BOTFRAMEWORK_JWKS_URIS`` in ``authorization/_entra_issuers.py`` of
    microsoft-agents-hosting-core 1.9.0: ``login.botframework.com``) with no setting to change it, unlike botbuilder's
    ``OpenIdMetadata``; so when another channel is configured, this object answers the one call the validator makes
    for a key (``get_signing_key(jwks_uri, header)``) from that channel's keys. Everything else — signature, expiry,
    audience, issuer allow-list, tenant binding — is the SDK's own code. Upstream source:
    https://github.com/microsoft/Agents-for-python/blob/main/libraries/microsoft-agents-hosting-core/microsoft_agents/hosting/core/authorization/jwt/jwt_token_validator.py
    """

    def __init__(self, metadata_url: str) -> None:
        self.metadata_url = metadata_url
        self._client: PyJWKClient | None = None
        self._lock = threading.Lock()

    def _jwks(self) -> PyJWKClient:
        with self._lock:
            if self._client is None:
                with urllib.request.urlopen(self.metadata_url, timeout=10) as response:  # noqa: S310 (configured)
                    metadata = json.load(response)
                self._client = PyJWKClient(str(metadata["jwks_uri"]), cache_keys=True, lifespan=3600)
            return self._client

    async def get_signing_key(self, jwks_uri: str, header: dict[str, Any]) -> PyJWK:
        return await asyncio.to_thread(lambda: self._jwks().get_signing_key(header["kid"]))


_keys_cache: dict[str, MetadataKeys] = {}


def validator() -> JwtTokenValidator:
    app_id, password = _require_app()
    configuration = AgentAuthConfiguration(
        client_id=app_id,
        client_secret=password,
        tenant_id=settings.TEAMS_APP_TENANT_ID,
        issuers=list(settings.TEAMS_ISSUERS),
        validate_issuer=True,
    )
    checker = JwtTokenValidator(configuration)
    metadata_url = settings.TEAMS_OPENID_METADATA_URL
    if metadata_url:
        keys = _keys_cache.setdefault(metadata_url, MetadataKeys(metadata_url))
        checker._jwk_client_manager = keys  # type: ignore[assignment]  # see MetadataKeys: no setting upstream
    return checker


async def authenticate(authorization: str) -> ClaimsIdentity:
    """The claims of a valid ``Authorization: Bearer <jwt>`` from the channel; ``TeamsAuthError`` otherwise."""
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise TeamsAuthError("The request has no bearer token.")
    try:
        return await validator().validate_token(token.strip())
    except TeamsNotConfigured:
        raise
    except Exception as exc:  # PyJWT's errors, a key not found, the SDK's ValueErrors: all mean "not valid"
        raise TeamsAuthError(f"The bearer token is not valid: {type(exc).__name__}: {exc}") from None


# --- the bot's own token, to call the Bot Connector API ---------------------------------------------
@dataclass
class _Token:
    value: str
    expires_at: float


class BotTokenError(RuntimeError):
    """The token endpoint refused the bot's credentials or did not answer; the message says what to check."""


class BotToken:
    """Client credentials against ``TEAMS_TOKEN_URL``, cached until shortly before expiry (one per process).

    MSAL (which the SDK's ``MsalAuth`` wraps) is not used here: it insists on Microsoft's authority hosts for
    instance discovery and takes no trust setting for another host, so it could not run against the stand-in.
    """

    def __init__(self) -> None:
        self._token: _Token | None = None
        self._lock = threading.Lock()

    def get(self, *, renew: bool = False) -> str:
        with self._lock:
            if not renew and self._token and self._token.expires_at - TOKEN_MARGIN_SECONDS > time.time():
                return self._token.value
            self._token = self._fetch()
            return self._token.value

    def _fetch(self) -> _Token:
        app_id, password = _require_app()
        url = settings.TEAMS_TOKEN_URL
        form = {
            "grant_type": "client_credentials",
            "client_id": app_id,
            "client_secret": password,
            "scope": BOT_FRAMEWORK_SCOPE,
        }
        try:
            with outbound_http.client(timeout=15) as http:
                response = http.post(url, data=form)
        except httpx.HTTPError as exc:
            raise BotTokenError(f"Cannot reach the Bot Framework token endpoint {url}: {exc}") from None
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code != 200 or not body.get("access_token"):
            detail = body.get("error_description") or body.get("error") or response.text[:200]
            raise BotTokenError(
                f"The Bot Framework token endpoint refused Gaby's bot credentials ({response.status_code}): {detail} "
                "Check GABY_TEAMS_APP_ID and GABY_TEAMS_APP_PASSWORD."
            )
        return _Token(str(body["access_token"]), time.time() + float(body.get("expires_in") or 3599))


bot_token = BotToken()
