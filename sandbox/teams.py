"""A Microsoft Teams stand-in: the Bot Connector REST API, the Bot Framework token endpoint, and the OpenID
metadata + signing keys the channel's tokens are checked against.

Follows Microsoft's public documentation ("Bot Connector API reference", "Authenticate requests with the Bot
Connector API", "Rate limiting for bots" in Teams):

- ``POST /{tenant}/oauth2/v2.0/token`` (``botframework.com`` for a multi-tenant bot, the app's tenant id for a
  single-tenant one) — client credentials (``grant_type=client_credentials``,
  ``client_id``, ``client_secret``, ``scope=https://api.botframework.com/.default``) →
  ``{"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": ...}``; a wrong secret is
  ``401 {"error": "invalid_client", "error_description": "AADSTS7000215: ...", "error_codes": [7000215]}``.
- ``GET /v1/.well-known/openidconfiguration`` (issuer ``https://api.botframework.com``, ``jwks_uri``) and
  ``GET /v1/.well-known/keys`` (RSA keys with ``endorsements: ["msteams"]``).
- ``POST /v3/conversations/{id}/activities`` (send), ``POST /v3/conversations/{id}/activities/{activityId}``
  (reply), ``PUT /v3/conversations/{id}/activities/{activityId}`` (update), ``GET /v3/conversations/{id}/members/
  {memberId}`` (a TeamsChannelAccount: ``email``, ``userPrincipalName``, ``aadObjectId``) — each needs
  ``Authorization: Bearer`` with a token this stand-in issued (401 ``{"message": "Authorization has been denied for
  this request."}`` otherwise); errors are ``{"error": {"code": "BadArgument", "message": ...}}``; a throttled
  call is ``429`` with ``Retry-After`` (``fail_next(429, headers={"Retry-After": "1"})``, or ``rate_limit``: more
  than that many writes per conversation per second answer 429 by themselves).

The signing key (RSA, made at start) also signs what ``sandbox.teams_emulator`` sends to Gaby, so Gaby's real token
validation (the Microsoft 365 Agents SDK's ``JwtTokenValidator``) runs against this stand-in's keys.

Inspect: ``posted`` (every activity created, in order), ``updates`` (every PUT), ``activity(id)``,
``replies_in(conversation_id)``. Run alone: ``python -m sandbox.teams --port 8191``.
"""

from __future__ import annotations

import base64
import copy
import re
import secrets
import time
import uuid
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from sandbox.base import Request, Response, Sandbox, serve_from_command_line

BOT_FRAMEWORK_ISSUER = "https://api.botframework.com"
BOT_FRAMEWORK_SCOPE = "https://api.botframework.com/.default"
TOKEN_PATH = "/botframework.com/oauth2/v2.0/token"
METADATA_PATH = "/v1/.well-known/openidconfiguration"
KEYS_PATH = "/v1/.well-known/keys"
DENIED = {"message": "Authorization has been denied for this request."}

_ACTIVITIES = re.compile(r"^/v3/conversations/(?P<conversation>[^/]+)/activities(?:/(?P<activity>[^/]+))?$")
_TOKEN = re.compile(r"^/[^/]+/oauth2/v2\.0/token$")
_MEMBER = re.compile(r"^/v3/conversations/(?P<conversation>[^/]+)/members/(?P<member>[^/]+)$")


def _b64url(number: int) -> str:
    raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class SigningKey:
    """An RSA key published in the JWKS, as the channel's token service does."""

    def __init__(self) -> None:
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = secrets.token_hex(8)

    @property
    def pem(self) -> bytes:
        return self.private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    def jwk(self) -> dict[str, Any]:
        numbers = self.private.public_key().public_numbers()
        return {
            "kty": "RSA",
            "use": "sig",
            "kid": self.kid,
            "x5t": self.kid,
            "n": _b64url(numbers.n),
            "e": _b64url(numbers.e),
            "endorsements": ["msteams"],
        }


class TeamsSandbox(Sandbox):
    """``apps``: the bot registrations it knows, {app id: client secret}; ``members``: {aad object id: account}."""

    name = "teams"

    def __init__(
        self,
        apps: dict[str, str] | None = None,
        members: dict[str, dict[str, Any]] | None = None,
        *,
        token_lifespan: int = 3599,
        rate_limit: int = 0,
    ) -> None:
        super().__init__()
        self.apps = dict(apps or {})
        self.members = copy.deepcopy(members or {})
        self.token_lifespan = token_lifespan
        self.rate_limit = rate_limit  # writes per conversation per second; 0: only injected 429s
        self.key = SigningKey()
        self.tokens: dict[str, tuple[str, float]] = {}  # access token → (app id, expiry)
        self.tokens_issued = 0
        self.posted: list[dict[str, Any]] = []
        self.updates: list[dict[str, Any]] = []
        self._activities: dict[str, dict[str, Any]] = {}
        self._writes: dict[str, list[float]] = {}

    # --- what Gaby is told to use -------------------------------------------------------------------
    @property
    def service_url(self) -> str:
        """The ``serviceUrl`` activities carry (Teams': ``https://smba.trafficmanager.net/amer/``)."""
        return f"{self.base_url}/amer/"

    @property
    def metadata_url(self) -> str:
        return f"{self.base_url}{METADATA_PATH}"

    @property
    def token_url(self) -> str:
        return f"{self.base_url}{TOKEN_PATH}"

    def expire_tokens(self) -> None:
        with self.lock:
            self.tokens = {token: (app, 0.0) for token, (app, _) in self.tokens.items()}

    # --- inspection ---------------------------------------------------------------------------------
    def activity(self, activity_id: str) -> dict[str, Any] | None:
        with self.lock:
            return copy.deepcopy(self._activities.get(activity_id))

    def replies_in(self, conversation_id: str) -> list[dict[str, Any]]:
        """The activities in this conversation as they read now (updates applied), oldest first."""
        with self.lock:
            ids = [a["id"] for a in self.posted if a["conversation"]["id"] == conversation_id]
            return [copy.deepcopy(self._activities[i]) for i in ids]

    # --- the HTTP surface ---------------------------------------------------------------------------
    def error_body(self, status: int, message: str) -> Any:
        code = {400: "BadArgument", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 429: "TooManyRequests"}
        return {"error": {"code": code.get(status, "ServiceError"), "message": message}}

    def handle(self, request: Request) -> Response:
        path = request.path
        if request.method == "POST" and _TOKEN.match(path):
            return self._token(request)
        if request.method == "GET" and path == METADATA_PATH:
            return Response(200, self._metadata())
        if request.method == "GET" and path == KEYS_PATH:
            return Response(200, {"keys": [self.key.jwk()]})
        path = path.removeprefix("/amer")
        activities, member = _ACTIVITIES.match(path), _MEMBER.match(path)
        if not (activities or member):
            return Response(404, self.error_body(404, f"No route for {request.method} {request.path}"))
        if self._app_of(request) is None:
            return Response(401, DENIED)
        if member and request.method == "GET":
            return self._member(member["conversation"], member["member"])
        if activities and request.method in ("POST", "PUT"):
            throttled = self._throttled(activities["conversation"])
            if throttled is not None:
                return throttled
            if request.method == "POST":
                return self._create(request, activities["conversation"], activities["activity"])
            if activities["activity"]:
                return self._update(request, activities["conversation"], activities["activity"])
        return Response(405, self.error_body(400, f"{request.method} is not supported on {request.path}"))

    def _metadata(self) -> dict[str, Any]:
        return {
            "issuer": BOT_FRAMEWORK_ISSUER,
            "authorization_endpoint": "https://invalid.botframework.com",
            "jwks_uri": f"{self.base_url}{KEYS_PATH}",
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        }

    def _token(self, request: Request) -> Response:
        form = {key: values[-1] for key, values in request.form().items()}
        if form.get("grant_type") != "client_credentials":
            return Response(
                400,
                {
                    "error": "unsupported_grant_type",
                    "error_description": "AADSTS70003: The app requested an unsupported grant type.",
                    "error_codes": [70003],
                },
            )
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        if client_id not in self.apps:
            return Response(
                400,
                {
                    "error": "unauthorized_client",
                    "error_description": f"AADSTS700016: Application with identifier '{client_id}' was not found "
                    "in the directory 'Bot Framework'.",
                    "error_codes": [700016],
                },
            )
        if not secrets.compare_digest(self.apps[client_id], secret):
            return Response(
                401,
                {
                    "error": "invalid_client",
                    "error_description": "AADSTS7000215: Invalid client secret provided. Ensure the secret being "
                    f"sent in the request is the client secret value, not the client secret ID, for a secret added "
                    f"to app '{client_id}'.",
                    "error_codes": [7000215],
                },
            )
        if form.get("scope") != BOT_FRAMEWORK_SCOPE:
            return Response(
                400,
                {
                    "error": "invalid_scope",
                    "error_description": f"AADSTS70011: The provided value for the input parameter 'scope' is not "
                    f"valid. The scope {form.get('scope', '')} is not valid.",
                    "error_codes": [70011],
                },
            )
        token = secrets.token_urlsafe(32)
        self.tokens[token] = (client_id, time.time() + self.token_lifespan)
        self.tokens_issued += 1
        return Response(
            200,
            {
                "token_type": "Bearer",
                "expires_in": self.token_lifespan,
                "ext_expires_in": self.token_lifespan,
                "access_token": token,
            },
        )

    def _app_of(self, request: Request) -> str | None:
        header = request.headers.get("authorization", "")
        if not header.startswith("Bearer "):
            return None
        app, expiry = self.tokens.get(header.removeprefix("Bearer "), ("", 0.0))
        return app if app and expiry > time.time() else None

    def _throttled(self, conversation: str) -> Response | None:
        if not self.rate_limit:
            return None
        now = time.time()
        recent = [t for t in self._writes.get(conversation, []) if now - t < 1.0]
        if len(recent) >= self.rate_limit:
            return Response(429, self.error_body(429, "Too many requests for this conversation."), {"Retry-After": "1"})
        self._writes[conversation] = [*recent, now]
        return None

    def _member(self, conversation: str, member: str) -> Response:
        account = self.members.get(member)
        if account is None:
            return Response(404, self.error_body(404, f"Member {member} is not in conversation {conversation}."))
        return Response(200, {"id": member, "aadObjectId": member, **account})

    def _create(self, request: Request, conversation: str, reply_to: str | None) -> Response:
        body = request.json()
        if not isinstance(body, dict) or not body.get("type"):
            return Response(400, self.error_body(400, "The activity must be a JSON object with a type."))
        activity_id = f"1{int(time.time() * 1000)}{len(self.posted):04d}"
        stored = {**body, "id": activity_id, "conversation": {"id": conversation}, "replyToId": reply_to or ""}
        self._activities[activity_id] = stored
        self.posted.append(copy.deepcopy(stored))
        return Response(201, {"id": activity_id})

    def _update(self, request: Request, conversation: str, activity_id: str) -> Response:
        current = self._activities.get(activity_id)
        if current is None or current["conversation"]["id"] != conversation:
            return Response(404, self.error_body(404, f"Activity {activity_id} was not found."))
        body = request.json()
        if not isinstance(body, dict) or not body.get("type"):
            return Response(400, self.error_body(400, "The activity must be a JSON object with a type."))
        updated = {**current, **body, "id": activity_id, "conversation": current["conversation"]}
        self._activities[activity_id] = updated
        self.updates.append(copy.deepcopy(updated))
        return Response(200, {"id": activity_id})


DEMO_APP_ID = "00000000-0000-4000-8000-00000000b07a"
DEMO_APP_SECRET = "demo-bot-secret"


def demo() -> TeamsSandbox:
    return TeamsSandbox({DEMO_APP_ID: DEMO_APP_SECRET}, {str(uuid.UUID(int=1)): {"email": "jane@acme.test"}})


if __name__ == "__main__":
    serve_from_command_line(demo(), description=__doc__ or "", default_port=8191)
