"""A Keycloak stand-in: the OpenID Connect token endpoint and the admin REST API parts Gaby uses.

Follows Keycloak's documented behaviour (Admin REST API, Keycloak 24+): tokens from
``/realms/{realm}/protocol/openid-connect/token`` (client_credentials, password, refresh_token grants);
admin calls under ``/admin/realms/{realm}`` with ``Authorization: Bearer``; 401 once a token expired;
``first``/``max`` paging on user and session lists; ``{"error": ...}`` / ``{"errorMessage": ...}`` bodies.

Seed (every key optional)::

    {"realm": "acme", "token_lifespan": 300,
     "clients": {"gaby-support": "client-secret"},            # client_credentials
     "admins": {"admin": "admin-password"},                     # password grant (client admin-cli)
     "users": [{"username": "jane", "email": "jane@acme.test", "enabled": True,
                "requiredActions": [], "credentials": [{"type": "password"}],
                "sessions": [{"ipAddress": "203.0.113.9"}],
                "bruteForce": {"numFailures": 5, "disabled": True, "lastIPFailure": "203.0.113.9"}}]}

Inspect: ``users`` (by id), ``user(username_or_email)``, ``emails_sent``, ``logouts``, ``unlocks``,
``updates``, ``tokens_issued``; ``expire_tokens()`` makes every issued token answer 401 from now on.
Run alone for the demo: ``python -m sandbox.keycloak --port 8180`` (serves DEMO_SEED).
"""

from __future__ import annotations

import copy
import re
import secrets
import time
import uuid
from typing import Any

from sandbox.base import Request, Response, Sandbox, serve_from_command_line

NOW_MS = 1_763_000_000_000  # fixed "now" for seeded timestamps, so fixtures are reproducible


def _ms_ago(minutes: int) -> int:
    return NOW_MS - minutes * 60_000


DEMO_SEED: dict[str, Any] = {
    "realm": "acme",
    "clients": {"gaby-support": "demo-secret"},
    "admins": {"admin": "admin"},
    "users": [
        {
            "username": "jane.doe",
            "email": "jane.doe@acme.test",
            "firstName": "Jane",
            "lastName": "Doe",
            "credentials": [{"type": "password", "createdDate": _ms_ago(60 * 24 * 200)}],
            "sessions": [{"ipAddress": "203.0.113.9", "start": _ms_ago(90), "lastAccess": _ms_ago(5)}],
            "bruteForce": {
                "numFailures": 8,
                "disabled": True,
                "lastIPFailure": "198.51.100.7",
                "lastFailure": _ms_ago(12),
            },
        },
        {
            "username": "raj.patel",
            "email": "raj.patel@acme.test",
            "firstName": "Raj",
            "lastName": "Patel",
            "requiredActions": ["UPDATE_PASSWORD"],
            "credentials": [{"type": "password", "createdDate": _ms_ago(60 * 24 * 400)}],
        },
        {
            "username": "former.employee",
            "email": "former@acme.test",
            "enabled": False,
            "credentials": [{"type": "password", "createdDate": _ms_ago(60 * 24 * 900)}],
        },
        {"username": "service-bot", "enabled": True, "credentials": []},
    ],
}


class KeycloakSandbox(Sandbox):
    name = "keycloak"

    def __init__(self, seed: dict[str, Any] | None = None) -> None:
        super().__init__()
        seed = copy.deepcopy(seed if seed is not None else DEMO_SEED)
        self.realm: str = seed.get("realm", "acme")
        self.token_lifespan: int = int(seed.get("token_lifespan", 300))
        self.clients: dict[str, str] = dict(seed.get("clients", {"gaby-support": "demo-secret"}))
        self.admins: dict[str, str] = dict(seed.get("admins", {}))
        self.tokens: dict[str, float] = {}  # access token -> expiry (time.time)
        self.refresh_tokens: dict[str, str] = {}  # refresh token -> admin username
        self.tokens_issued = 0
        self._seed = seed
        self.reset_data()

    def reset_data(self) -> None:
        """Back to the seeded users, with nothing sent, unlocked or updated (issued tokens stay valid)."""
        with self.lock:
            self.users: dict[str, dict[str, Any]] = {}
            for raw in copy.deepcopy(self._seed.get("users", [])):
                user = _user(raw)
                self.users[user["id"]] = user
            self.emails_sent: list[dict[str, Any]] = []
            self.logouts: list[dict[str, Any]] = []
            self.unlocks: list[str] = []
            self.updates: list[dict[str, Any]] = []

    # --- inspection --------------------------------------------------------------------------
    def user(self, username_or_email: str) -> dict[str, Any]:
        with self.lock:
            for user in self.users.values():
                if username_or_email in (user["username"], user.get("email")):
                    return user
        raise KeyError(username_or_email)

    def expire_tokens(self) -> None:
        with self.lock:
            self.tokens = dict.fromkeys(self.tokens, 0.0)

    def error_body(self, status: int, message: str) -> Any:
        return {"error": message}

    # --- HTTP ---------------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        token_path = re.fullmatch(r"/realms/([^/]+)/protocol/openid-connect/token", request.path)
        if token_path and request.method == "POST":
            return self._token(token_path.group(1), request)
        admin = re.fullmatch(r"/admin/realms/([^/]+)(/.*)?", request.path)
        if admin is None:
            return Response(404, {"error": "Unable to find matching target resource method"})
        if not self._authorized(request):
            return Response(401, {"error": "HTTP 401 Unauthorized"})
        if admin.group(1) != self.realm:
            return Response(404, {"error": "Realm not found."})
        return self._admin(request, admin.group(2) or "/")

    def _authorized(self, request: Request) -> bool:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and self.tokens.get(token, 0.0) > time.time()

    def _issue(self, refresh_for: str | None) -> Response:
        token = secrets.token_urlsafe(24)
        self.tokens[token] = time.time() + self.token_lifespan
        self.tokens_issued += 1
        body: dict[str, Any] = {
            "access_token": token,
            "expires_in": self.token_lifespan,
            "refresh_expires_in": 0,
            "token_type": "Bearer",
            "not-before-policy": 0,
            "scope": "profile email",
        }
        if refresh_for is not None:
            refresh = secrets.token_urlsafe(24)
            self.refresh_tokens[refresh] = refresh_for
            body.update(refresh_token=refresh, refresh_expires_in=1800)
        return Response(200, body)

    def _token(self, realm: str, request: Request) -> Response:
        if realm not in (self.realm, "master"):
            return Response(404, {"error": "Realm does not exist"})
        form = {key: values[-1] for key, values in request.form().items()}
        grant = form.get("grant_type")
        if grant == "client_credentials":
            if self.clients.get(form.get("client_id", "")) != form.get("client_secret") or not form.get("client_id"):
                return Response(
                    401,
                    {"error": "invalid_client", "error_description": "Invalid client or Invalid client credentials"},
                )
            return self._issue(None)
        if grant == "password":
            username = form.get("username", "")
            if username not in self.admins or self.admins[username] != form.get("password"):
                return Response(400, {"error": "invalid_grant", "error_description": "Invalid user credentials"})
            return self._issue(username)
        if grant == "refresh_token":
            owner = self.refresh_tokens.pop(form.get("refresh_token", ""), None)
            if owner is None:
                return Response(400, {"error": "invalid_grant", "error_description": "Invalid refresh token"})
            return self._issue(owner)
        return Response(400, {"error": "unsupported_grant_type", "error_description": "Unsupported grant_type"})

    def _admin(self, request: Request, rest: str) -> Response:
        method = request.method
        if rest == "/users" and method == "GET":
            return self._list_users(request)
        if rest == "/users/count" and method == "GET":
            return Response(200, len(self._matching_users(request)))
        brute = re.fullmatch(r"/attack-detection/brute-force/users/([^/]+)", rest)
        if brute:
            return self._brute_force(request, brute.group(1))
        match = re.fullmatch(r"/users/([^/]+)(/[a-z-]+)?", rest)
        if match is None:
            return Response(404, {"error": "Unable to find matching target resource method"})
        user = self.users.get(match.group(1))
        if user is None:
            return Response(404, {"error": "User not found"})
        action = match.group(2) or ""
        if action == "" and method == "GET":
            return Response(200, _representation(user))
        if action == "" and method == "PUT":
            return self._update(user, request)
        if action == "/sessions" and method == "GET":
            return self._sessions(user, request)
        if action == "/credentials" and method == "GET":
            return Response(200, [_credential(credential) for credential in user["credentials"]])
        if action == "/logout" and method == "POST":
            self.logouts.append({"user_id": user["id"], "sessions": len(user["sessions"])})
            user["sessions"] = []
            return Response(204)
        if action == "/execute-actions-email" and method == "PUT":
            return self._actions_email(user, request)
        return Response(405, {"error": "HTTP 405 Method Not Allowed"})

    def _matching_users(self, request: Request) -> list[dict[str, Any]]:
        exact = request.arg("exact", "false") == "true"

        def matches(value: str | None, wanted: str | None) -> bool:
            if wanted is None:
                return True
            if value is None:
                return False
            return value.lower() == wanted.lower() if exact else wanted.lower() in value.lower()

        search = request.arg("search")
        found = []
        for user in self.users.values():
            if not (
                matches(user["username"], request.arg("username")) and matches(user.get("email"), request.arg("email"))
            ):
                continue
            if search is not None and search != "*":
                haystack = " ".join(str(user.get(key) or "") for key in ("username", "email", "firstName", "lastName"))
                if search.strip("*").lower() not in haystack.lower():
                    continue
            found.append(user)
        return sorted(found, key=lambda user: user["username"])

    def _list_users(self, request: Request) -> Response:
        first, size = _paging(request)
        if first is None or size is None:
            return Response(400, {"error": "first and max must be non-negative integers"})
        users = self._matching_users(request)[first : first + size]
        return Response(200, [_representation(user) for user in users])

    def _sessions(self, user: dict[str, Any], request: Request) -> Response:
        first, size = _paging(request)
        if first is None or size is None:
            return Response(400, {"error": "first and max must be non-negative integers"})
        sessions = [{**session, "username": user["username"], "userId": user["id"]} for session in user["sessions"]]
        return Response(200, sessions[first : first + size])

    def _update(self, user: dict[str, Any], request: Request) -> Response:
        body = request.json()
        if not isinstance(body, dict):
            return Response(400, {"errorMessage": "Invalid user representation"})
        allowed = {"enabled", "email", "firstName", "lastName", "emailVerified", "requiredActions"}
        changes = {key: value for key, value in body.items() if key in allowed}
        user.update(changes)
        self.updates.append({"user_id": user["id"], **changes})
        return Response(204)

    def _actions_email(self, user: dict[str, Any], request: Request) -> Response:
        actions = request.json()
        if not isinstance(actions, list) or not all(isinstance(action, str) for action in actions):
            return Response(400, {"errorMessage": "Body must be a list of required actions"})
        if not user.get("email"):
            return Response(400, {"errorMessage": "User email missing"})
        if not user.get("enabled", True):
            return Response(400, {"errorMessage": "User is disabled"})
        if request.arg("redirect_uri") and not request.arg("client_id"):
            return Response(400, {"errorMessage": "Client id missing"})
        self.emails_sent.append(
            {
                "user_id": user["id"],
                "email": user["email"],
                "actions": actions,
                "lifespan": int(request.arg("lifespan", "43200") or 43200),
                "client_id": request.arg("client_id"),
            }
        )
        return Response(204)

    def _brute_force(self, request: Request, user_id: str) -> Response:
        user = self.users.get(user_id)
        status = user["bruteForce"] if user else _brute({})
        if request.method == "GET":
            return Response(200, dict(status))
        if request.method == "DELETE":
            if user is not None:
                user["bruteForce"] = _brute({})
                self.unlocks.append(user_id)
            return Response(204)
        return Response(405, {"error": "HTTP 405 Method Not Allowed"})


def _paging(request: Request) -> tuple[int | None, int | None]:
    try:
        first = int(request.arg("first", "0") or 0)
        size = int(request.arg("max", "100") or 100)
    except ValueError:
        return None, None
    if first < 0 or size < 0:
        return None, None
    return first, size


def _brute(raw: dict[str, Any]) -> dict[str, Any]:
    return {
        "numFailures": int(raw.get("numFailures", 0)),
        "disabled": bool(raw.get("disabled", False)),
        "lastIPFailure": raw.get("lastIPFailure", "n/a"),
        "lastFailure": int(raw.get("lastFailure", 0)),
    }


def _user(raw: dict[str, Any]) -> dict[str, Any]:
    username = raw["username"]
    user_id = raw.get("id") or str(uuid.uuid5(uuid.NAMESPACE_URL, f"keycloak-sandbox:{username}"))
    sessions = []
    for number, session in enumerate(raw.get("sessions", [])):
        sessions.append(
            {
                "id": session.get("id") or str(uuid.uuid5(uuid.NAMESPACE_URL, f"{user_id}:session:{number}")),
                "ipAddress": session.get("ipAddress", "127.0.0.1"),
                "start": session.get("start", _ms_ago(60)),
                "lastAccess": session.get("lastAccess", _ms_ago(1)),
                "rememberMe": session.get("rememberMe", False),
                "clients": session.get("clients", {"c0ffee00-0000-0000-0000-000000000001": "account-console"}),
            }
        )
    credentials = []
    for number, credential in enumerate(raw.get("credentials", [])):
        credentials.append(
            {
                "id": credential.get("id") or str(uuid.uuid5(uuid.NAMESPACE_URL, f"{user_id}:cred:{number}")),
                "type": credential.get("type", "password"),
                "userLabel": credential.get("userLabel", ""),
                "createdDate": credential.get("createdDate", _ms_ago(60 * 24 * 30)),
                "credentialData": credential.get("credentialData", '{"hashIterations":27500,"algorithm":"pbkdf2"}'),
                "secretData": "never returned by the admin API",
            }
        )
    return {
        "id": user_id,
        "username": username,
        "email": raw.get("email"),
        "firstName": raw.get("firstName"),
        "lastName": raw.get("lastName"),
        "enabled": raw.get("enabled", True),
        "emailVerified": raw.get("emailVerified", bool(raw.get("email"))),
        "createdTimestamp": raw.get("createdTimestamp", _ms_ago(60 * 24 * 365)),
        "requiredActions": list(raw.get("requiredActions", [])),
        "credentials": credentials,
        "sessions": sessions,
        "bruteForce": _brute(raw.get("bruteForce", {})),
    }


def _representation(user: dict[str, Any]) -> dict[str, Any]:
    """UserRepresentation as the admin API returns it (no credentials, sessions or brute-force state)."""
    rep = {key: value for key, value in user.items() if key not in ("credentials", "sessions", "bruteForce")}
    rep = {key: value for key, value in rep.items() if value is not None}
    rep["totp"] = any(credential["type"] == "otp" for credential in user["credentials"])
    rep["access"] = {"manage": True, "impersonate": False, "view": True, "mapRoles": True}
    return rep


def _credential(credential: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in credential.items() if key != "secretData"}


def main() -> None:
    serve_from_command_line(
        KeycloakSandbox(DEMO_SEED), description="Serve the Keycloak stand-in with its demo seed.", default_port=8180
    )


if __name__ == "__main__":
    main()
