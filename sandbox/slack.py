"""A Slack Web API stand-in (https://docs.slack.dev/reference/methods), and a sender of signed Events API requests.

Faithful to the documented behaviour Gaby relies on: methods are ``POST /api/<method>`` with a form or JSON body
and ``Authorization: Bearer xoxb-…`` (``oauth.v2.access`` takes the app's client id/secret instead); every answer is
HTTP 200 with ``{"ok": true, …}`` or ``{"ok": false, "error": "invalid_auth" | "channel_not_found" | …}``, except
throttling: HTTP 429 with ``Retry-After`` (``fail_next(429, headers={"Retry-After": "1"})``; slack-sdk's
``RateLimitErrorRetryHandler`` waits and retries). ``conversations.list`` pages with ``limit`` and ``cursor``
(``response_metadata.next_cursor``, "" on the last page).

Methods: ``oauth.v2.access``, ``auth.test``, ``users.info``, ``users.lookupByEmail``, ``conversations.open``,
``conversations.list``,
``chat.postMessage``, ``chat.update``, ``chat.postEphemeral``. What was posted is kept: ``thread(channel, ts)``,
``messages``, ``ephemerals``. ``send_event`` signs an Events API payload the way Slack does (``v0`` HMAC-SHA256 of
``v0:<timestamp>:<body>`` under the app's signing secret) and POSTs it to Gaby. Run alone for a demo:
``python -m sandbox.slack --port 12114``.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import secrets
import time
import urllib.request
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from sandbox.base import Request, Response, Sandbox, serve_from_command_line

DEMO_TEAM = {"id": "T0GABYDEMO", "name": "Acme Corp", "domain": "acme"}
DEMO_USERS = [
    {"id": "U0ALICE", "name": "alice", "real_name": "Alice Martin", "email": "alice@acme.test"},
    {"id": "U0NOMAIL", "name": "guest", "real_name": "Guest Without Email", "email": ""},
]
DEMO_CHANNELS = [
    {"id": "C0HELPDESK", "name": "help-desk"},
    {"id": "C0RANDOM", "name": "random"},
]


@dataclass
class Posted:
    channel: str
    ts: str
    text: str
    thread_ts: str = ""
    blocks: list[Any] = field(default_factory=list)
    edits: int = 0
    at: float = field(default_factory=time.monotonic)  # when it was posted (the bench's clock)


class SlackSandbox(Sandbox):
    name = "slack"

    def __init__(
        self,
        *,
        client_id: str = "1111.2222",
        client_secret: str = "slack-client-secret",  # noqa: S107 (the stand-in's demo credentials)
        team: dict[str, str] | None = None,
        users: list[dict[str, str]] | None = None,
        channels: list[dict[str, str]] | None = None,
        bot_token: str = "xoxb-gaby-demo-token",  # noqa: S107
    ) -> None:
        super().__init__()
        self.client_id, self.client_secret = client_id, client_secret
        self.team = dict(team or DEMO_TEAM)
        self.users = {u["id"]: dict(u) for u in (users or DEMO_USERS)}
        self.channels = {c["id"]: dict(c) for c in (channels or DEMO_CHANNELS)}
        self.bot_token, self.bot_user_id = bot_token, "U0GABYBOT"
        self.codes: dict[str, str] = {}  # OAuth codes handed out by authorize() -> redirect_uri
        self.messages: list[Posted] = []
        self.ephemerals: list[dict[str, str]] = []
        self._ts = itertools.count(1)
        self.started = int(time.time())

    # --- what tests read --------------------------------------------------------------------------
    def thread(self, channel: str, thread_ts: str = "") -> list[Posted]:
        with self.lock:
            return [m for m in self.messages if m.channel == channel and (not thread_ts or m.thread_ts == thread_ts)]

    def authorize(self, redirect_uri: str = "") -> str:
        """What Slack's consent screen does: a one-time code for ``oauth.v2.access``."""
        code = f"code-{next(self._ts)}"
        with self.lock:
            self.codes[code] = redirect_uri
        return code

    def next_ts(self) -> str:
        return f"{self.started}.{next(self._ts):06d}"

    # --- the Web API ------------------------------------------------------------------------------
    def error_body(self, status: int, message: str) -> Any:
        return {"ok": False, "error": "ratelimited" if status == 429 else message}

    def handle(self, request: Request) -> Response:
        method = request.path.removeprefix("/api/")
        args = self._args(request)
        if method == "oauth.v2.access":
            return self._oauth(request, args)
        if (
            request.headers.get("authorization", "") != f"Bearer {self.bot_token}"
            and args.get("token") != self.bot_token
        ):
            return _fail(
                "not_authed" if "authorization" not in request.headers and "token" not in args else "invalid_auth"
            )
        handler = getattr(self, "m_" + method.replace(".", "_"), None)
        if handler is None:
            return _fail("unknown_method")
        result: Response = handler(args)
        return result

    @staticmethod
    def _args(request: Request) -> dict[str, Any]:
        if request.headers.get("content-type", "").startswith("application/json"):
            body = request.json() or {}
            return body if isinstance(body, dict) else {}
        args: dict[str, Any] = {k: v[-1] for k, v in request.query.items()}
        args.update(dict(parse_qsl(request.body.decode(), keep_blank_values=True)))
        return args

    def _oauth(self, request: Request, args: dict[str, Any]) -> Response:
        import base64

        basic = request.headers.get("authorization", "")
        if basic.startswith("Basic "):
            client_id, _, secret = base64.b64decode(basic[6:]).decode().partition(":")
        else:
            client_id, secret = str(args.get("client_id", "")), str(args.get("client_secret", ""))
        if client_id != self.client_id:
            return _fail("invalid_client_id")
        if secret != self.client_secret:
            return _fail("bad_client_secret")
        with self.lock:
            redirect = self.codes.pop(str(args.get("code", "")), None)
        if redirect is None:
            return _fail("invalid_code")
        if redirect and args.get("redirect_uri") and args["redirect_uri"] != redirect:
            return _fail("bad_redirect_uri")
        return _ok(
            access_token=self.bot_token,
            token_type="bot",
            scope="app_mentions:read,chat:write,im:history,users:read,users:read.email,channels:read",
            bot_user_id=self.bot_user_id,
            app_id="A0GABY",
            team={"id": self.team["id"], "name": self.team["name"]},
            enterprise=None,
            authed_user={"id": "U0ALICE"},
        )

    def m_auth_test(self, args: dict[str, Any]) -> Response:
        return _ok(
            url=f"https://{self.team['domain']}.slack.com/",
            team=self.team["name"],
            user="gaby",
            team_id=self.team["id"],
            user_id=self.bot_user_id,
            bot_id="B0GABY",
        )

    def m_users_info(self, args: dict[str, Any]) -> Response:
        user = self.users.get(str(args.get("user", "")))
        if user is None:
            return _fail("user_not_found")
        profile = {"real_name": user["real_name"], "display_name": user["name"]}
        if user.get("email"):
            profile["email"] = user["email"]
        return _ok(
            user={
                "id": user["id"],
                "team_id": self.team["id"],
                "name": user["name"],
                "real_name": user["real_name"],
                "is_bot": False,
                "deleted": False,
                "profile": profile,
            }
        )

    def m_users_lookupByEmail(self, args: dict[str, Any]) -> Response:
        email = str(args.get("email", "")).lower()
        user = next((u for u in self.users.values() if u.get("email", "").lower() == email and email), None)
        if user is None:
            return _fail("users_not_found")
        return self.m_users_info({"user": user["id"]})

    def m_conversations_open(self, args: dict[str, Any]) -> Response:
        users = [u for u in str(args.get("users", "")).split(",") if u]
        if not users:
            return _fail("users_list_not_supplied")
        if any(u not in self.users for u in users):
            return _fail("user_not_found")
        return _ok(channel={"id": "D" + users[0].removeprefix("U")})

    def m_conversations_list(self, args: dict[str, Any]) -> Response:
        limit = max(1, min(int(args.get("limit") or 100), 1000))
        ordered = sorted(self.channels.values(), key=lambda c: c["id"])
        start = int(args.get("cursor") or 0) if str(args.get("cursor") or "0").isdigit() else -1
        if start < 0:
            return _fail("invalid_cursor")
        page = ordered[start : start + limit]
        more = start + limit < len(ordered)
        channels = [
            {"id": c["id"], "name": c["name"], "is_channel": True, "is_private": False, "is_member": True} for c in page
        ]
        return _ok(channels=channels, response_metadata={"next_cursor": str(start + limit) if more else ""})

    def _channel_ok(self, channel: str) -> bool:
        return channel in self.channels or channel.startswith("D")

    def m_chat_postMessage(self, args: dict[str, Any]) -> Response:
        channel = str(args.get("channel", ""))
        if not self._channel_ok(channel):
            return _fail("channel_not_found")
        text, blocks = str(args.get("text") or ""), _blocks(args.get("blocks"))
        if not text and not blocks:
            return _fail("no_text")
        posted = Posted(channel, self.next_ts(), text, str(args.get("thread_ts") or ""), blocks)
        with self.lock:
            self.messages.append(posted)
        return _ok(channel=channel, ts=posted.ts, message={"type": "message", "text": text, "ts": posted.ts})

    def m_chat_update(self, args: dict[str, Any]) -> Response:
        channel, ts = str(args.get("channel", "")), str(args.get("ts", ""))
        if not self._channel_ok(channel):
            return _fail("channel_not_found")
        with self.lock:
            found = next((m for m in self.messages if m.channel == channel and m.ts == ts), None)
            if found is None:
                return _fail("message_not_found")
            found.text = str(args.get("text") or found.text)
            found.blocks = _blocks(args.get("blocks")) or found.blocks
            found.edits += 1
        return _ok(channel=channel, ts=ts, text=found.text)

    def m_chat_postEphemeral(self, args: dict[str, Any]) -> Response:
        channel, user = str(args.get("channel", "")), str(args.get("user", ""))
        if not self._channel_ok(channel):
            return _fail("channel_not_found")
        if user not in self.users:
            return _fail("user_not_in_channel")
        with self.lock:
            self.ephemerals.append({"channel": channel, "user": user, "text": str(args.get("text") or "")})
        return _ok(message_ts=self.next_ts())

    # --- the Events API, towards Gaby ---------------------------------------------------------------
    def mention(self, *, user: str, channel: str, text: str, ts: str = "", thread_ts: str = "") -> dict[str, Any]:
        """An ``app_mention`` event callback as Slack sends it."""
        ts = ts or self.next_ts()
        event = {
            "type": "app_mention",
            "user": user,
            "text": f"<@{self.bot_user_id}> {text}",
            "ts": ts,
            "channel": channel,
            "event_ts": ts,
        }
        if thread_ts:
            event["thread_ts"] = thread_ts
        return self._callback(event)

    def direct_message(self, *, user: str, text: str, ts: str = "") -> dict[str, Any]:
        """A ``message.im`` event callback (a direct message to Gaby)."""
        ts = ts or self.next_ts()
        event = {
            "type": "message",
            "channel_type": "im",
            "user": user,
            "text": text,
            "ts": ts,
            "channel": "D" + user.removeprefix("U"),
            "event_ts": ts,
        }
        return self._callback(event)

    def _callback(self, event: dict[str, Any]) -> dict[str, Any]:
        return {
            "token": "deprecated-verification-token",
            "team_id": self.team["id"],
            "api_app_id": "A0GABY",
            "event": event,
            "type": "event_callback",
            "event_id": f"Ev{secrets.token_hex(5).upper()}",  # Slack's are unique across workspaces and time
            "event_time": int(time.time()),
            "authorizations": [{"team_id": self.team["id"], "user_id": self.bot_user_id, "is_bot": True}],
        }


def sign(signing_secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """Slack's request signing: the headers a request with this body carries."""
    stamp = str(timestamp if timestamp is not None else int(time.time()))
    base = b"v0:" + stamp.encode() + b":" + body
    digest = hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={digest}"}


def send_event(url: str, signing_secret: str, payload: dict[str, Any], *, retry_num: int = 0, host: str = "") -> int:
    """POST one signed Events API payload to Gaby; returns the HTTP status (Slack retries on anything but 2xx)."""
    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json", **sign(signing_secret, body)}
    if retry_num:
        headers |= {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"}
    if host:
        headers["Host"] = host
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 (http(s) given)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def _ok(**fields: Any) -> Response:
    return Response(200, {"ok": True, **fields})


def _fail(error: str) -> Response:
    return Response(200, {"ok": False, "error": error})


def _blocks(raw: Any) -> list[Any]:
    if isinstance(raw, str) and raw:
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            return []
        return value if isinstance(value, list) else []
    return raw if isinstance(raw, list) else []


if __name__ == "__main__":
    serve_from_command_line(SlackSandbox(), description="A Slack Web API stand-in.", default_port=12114)
