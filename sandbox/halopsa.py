"""A HaloPSA stand-in: the OAuth token endpoint and the REST API parts Gaby's ticket adapter uses.

Follows HaloPSA's documented API: an API application (Configuration → Integrations → HaloPSA API) with
client credentials gets a bearer token at ``POST /auth/token`` (form ``grant_type=client_credentials``,
``client_id``, ``client_secret``, ``scope=all``; hosted instances add ``?tenant=<name>``); resource calls
go to ``/api/...`` with ``Authorization: Bearer``. Lists are objects holding ``record_count`` and the items
(``tickets``, ``actions``, ``clients``, ``users``); ``pageinate=true`` with ``page_size`` / ``page_no``
pages them. Writes post an *array* of objects (``POST /api/Tickets``, ``POST /api/Actions``): an item with
an ``id`` updates, one without creates. Validation errors answer 400 in ASP.NET's problem shape.

Faults: ``fail_next`` (from sandbox.base) answers a 429 with Retry-After or a 5xx before anything happens;
``lose_next_answer`` performs a write and then answers 504, as when a gateway times out after Halo
committed it (what makes a blind retry write twice). ``expire_tokens()`` makes issued tokens answer 401.

Inspect: ``tickets`` (by id), ``actions`` (every action written), ``writes`` (ticket updates received),
``tokens_issued``. ``webhook_body(ticket_id)`` is what a Halo webhook on ticket events posts (the ticket
object, and the action that fired it); ``rate_limit=(n, seconds)`` throttles the API as Halo does.
Run alone for the demo: ``python -m sandbox.halopsa --port 8190`` (serves DEMO_SEED).
"""

from __future__ import annotations

import copy
import re
import secrets
import time
from datetime import UTC, datetime
from typing import Any

from sandbox.base import Request, Response, Sandbox, serve_from_command_line
from sandbox.halopsa_seed import DEMO_SEED, PRIORITIES, STATUSES

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 50
ONE = re.compile(r"^/api/(Tickets|Actions|Client|Users|Agent)/(\d+)$", re.IGNORECASE)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _when(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class Invalid(Exception):
    """A request Halo refuses with a 400 naming the field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class HaloPSASandbox(Sandbox):
    name = "halopsa"

    def __init__(self, seed: dict[str, Any] | None = None, *, rate_limit: tuple[int, float] | None = None) -> None:
        """``rate_limit=(requests, seconds)``: answer 429 with Retry-After past that many API requests in the
        window, as Halo's API rate limit does."""
        super().__init__()
        self.rate_limit = rate_limit
        self._recent: list[float] = []
        data = copy.deepcopy(seed if seed is not None else DEMO_SEED)
        self.tenant: str = data.get("tenant", "")
        self.applications: dict[str, str] = data.get("applications", {})
        self.token_lifespan = int(data.get("token_lifespan", 3600))
        self.clients = {c["id"]: c for c in data.get("clients", [])}
        self.users = {u["id"]: u for u in data.get("users", [])}
        self.agents = {a["id"]: a for a in data.get("agents", [])}
        self.tickets: dict[int, dict[str, Any]] = {}
        self.actions: dict[int, dict[str, Any]] = {}
        for ticket in data.get("tickets", []):
            actions = ticket.pop("actions", [])
            self.tickets[ticket["id"]] = ticket
            for action in actions:
                self.actions[action["id"]] = {"ticket_id": ticket["id"], **action}
        self.writes: list[dict[str, Any]] = []
        self.tokens_issued = 0
        self._tokens: dict[str, float] = {}
        self._lose: list[tuple[str, str]] = []

    # --- test controls ---------------------------------------------------------------------------
    def expire_tokens(self) -> None:
        with self.lock:
            self._tokens = dict.fromkeys(self._tokens, 0.0)

    def lose_next_answer(self, method: str, path: str) -> None:
        """Perform the next matching request, then answer 504 as a gateway that timed out after Halo wrote."""
        with self.lock:
            self._lose.append((method, path))

    def add_action(self, ticket_id: int, note: str, *, user_id: int | None = None, hidden: bool = False) -> int:
        """An end user (or, with ``hidden``, an agent's private note) adds to a ticket, as Halo's own UI would."""
        with self.lock:
            ticket = self.tickets[ticket_id]
            user = self.users.get(user_id or ticket.get("user_id") or 0, {})
            action = self._new_action(
                ticket,
                note=note,
                outcome="Private Note" if hidden else "User Replied",
                hidden=hidden,
                who=user.get("name", ""),
                agent_id=0,
            )
            return int(action["id"])

    def ticket_actions(self, ticket_id: int) -> list[dict[str, Any]]:
        with self.lock:
            return [a for a in self.actions.values() if a["ticket_id"] == ticket_id]

    def webhook_body(self, ticket_id: int, action_id: int | None = None) -> dict[str, Any]:
        """What a Halo webhook posts for a ticket event: the ticket object, and the action when one fired it."""
        with self.lock:
            body: dict[str, Any] = {"ticket": self._ticket_out(self.tickets[ticket_id])}
            if action_id is not None:
                body["action"] = self.actions[action_id]
            return body

    # --- dispatch ----------------------------------------------------------------------------------
    def dispatch(self, request: Request) -> Response:
        response = super().dispatch(request)
        with self.lock:
            for lost in self._lose:
                if lost == (request.method, request.path) and response.status < 400:
                    self._lose.remove(lost)
                    return Response(504, b"<html><body>504 Gateway Time-out</body></html>")
        return response

    def handle(self, request: Request) -> Response:
        if request.method == "POST" and request.path == "/auth/token":
            return self._token(request)
        if not request.path.startswith("/api/"):
            return Response(404, self.error_body(404, f"No route {request.path}"))
        throttled = self._throttle()
        if throttled is not None:
            return throttled
        if not self._authorised(request):
            return Response(401, self.error_body(401, "Authorization has been denied for this request."))
        try:
            return self._api(request)
        except Invalid as exc:
            return Response(400, self._problem(exc.field, str(exc)))

    def _api(self, request: Request) -> Response:
        path, method = request.path, request.method
        single = ONE.match(path)
        if single:
            return self._one(single.group(1).lower(), int(single.group(2)))
        listing = path.lower()
        if method == "GET" and listing == "/api/tickets":
            return self._list_tickets(request)
        if method == "POST" and listing == "/api/tickets":
            return self._write_tickets(request)
        if method == "GET" and listing == "/api/actions":
            return self._list_actions(request)
        if method == "POST" and listing == "/api/actions":
            return self._write_actions(request)
        if method == "GET" and listing == "/api/client":
            items = sorted(self.clients.values(), key=lambda c: c["id"])
            return Response(200, self._paged(request, "clients", items))
        if method == "GET" and listing == "/api/users":
            return self._list_users(request)
        if method == "GET" and listing == "/api/agent":
            return Response(200, sorted(self.agents.values(), key=lambda a: a["id"]))  # Halo: a bare array
        return Response(404, self.error_body(404, f"No route {method} {path}"))

    def _throttle(self) -> Response | None:
        if self.rate_limit is None:
            return None
        allowed, window = self.rate_limit
        now = time.monotonic()
        self._recent = [moment for moment in self._recent if moment > now - window]
        if len(self._recent) >= allowed:
            wait = max(1, int(self._recent[0] + window - now + 0.999))
            return Response(429, self.error_body(429, "Too many requests"), {"Retry-After": str(wait)})
        self._recent.append(now)
        return None

    # --- auth --------------------------------------------------------------------------------------
    def _token(self, request: Request) -> Response:
        form = {key: values[-1] for key, values in request.form().items()}
        tenant = request.arg("tenant")
        if tenant is not None and tenant != self.tenant:
            return Response(400, {"error": "invalid_request", "error_description": f"Unknown tenant {tenant}"})
        if form.get("grant_type") != "client_credentials":
            return Response(400, {"error": "unsupported_grant_type"})
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        if not client_id or self.applications.get(client_id) != secret:
            return Response(401, {"error": "invalid_client"})
        scope = form.get("scope", "")
        if scope not in ("all", "all:standard", "edit:tickets read:tickets"):
            return Response(400, {"error": "invalid_scope", "error_description": f"Unknown scope {scope!r}"})
        token = secrets.token_urlsafe(24)
        self._tokens[token] = time.monotonic() + self.token_lifespan
        self.tokens_issued += 1
        body = {"access_token": token, "token_type": "Bearer", "expires_in": self.token_lifespan, "scope": scope}
        return Response(200, body)

    def _authorised(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        if not header.startswith("Bearer "):
            return False
        expiry = self._tokens.get(header.removeprefix("Bearer ").strip())
        return expiry is not None and expiry > time.monotonic()

    # --- reads -------------------------------------------------------------------------------------
    def _one(self, kind: str, item_id: int) -> Response:
        found: dict[str, Any] | None
        if kind == "tickets":
            ticket = self.tickets.get(item_id)
            found = self._ticket_out(ticket) if ticket else None
        else:
            found = {"actions": self.actions, "client": self.clients, "users": self.users, "agent": self.agents}[
                kind
            ].get(item_id)
        if found is None:
            return Response(404, self.error_body(404, f"{kind} {item_id} not found"))
        return Response(200, found)

    def _ticket_out(self, ticket: dict[str, Any]) -> dict[str, Any]:
        client = self.clients.get(ticket.get("client_id", 0), {})
        user = self.users.get(ticket.get("user_id", 0), {})
        agent = self.agents.get(ticket.get("agent_id", 0), {})
        return {
            **ticket,
            "client_name": client.get("name", ""),
            "user_name": user.get("name", ""),
            "agent_name": agent.get("name", ""),
            "status_name": STATUSES.get(ticket.get("status_id", 0), ""),
            "priority_name": PRIORITIES.get(ticket.get("priority_id", 0), ""),
        }

    def _list_tickets(self, request: Request) -> Response:
        items = list(self.tickets.values())
        client_id = request.arg("client_id")
        if client_id:
            items = [t for t in items if str(t.get("client_id")) == client_id]
        search = request.arg("datesearch")
        start, end = request.arg("startdate"), request.arg("enddate")
        if start or end:
            field = {"lastupdate": "last_update", "dateoccurred": "dateoccurred", None: "dateoccurred"}.get(search)
            if field is None:
                raise Invalid("datesearch", f"datesearch {search!r} is not one of dateoccurred, lastupdate.")
            try:
                low = _when(start) if start else None
                high = _when(end) if end else None
            except ValueError:
                raise Invalid("startdate", "startdate and enddate must be ISO 8601 dates.") from None
            items = [
                t
                for t in items
                if (low is None or _when(t[field]) >= low) and (high is None or _when(t[field]) <= high)
            ]
        order = {"last_update": "last_update", "lastupdate": "last_update", "dateoccurred": "dateoccurred"}.get(
            (request.arg("order") or "id").lower(), "id"
        )
        items.sort(key=lambda t: (str(t[order]), t["id"]), reverse=request.arg("orderdesc") == "true")
        return Response(200, self._paged(request, "tickets", [self._ticket_out(t) for t in items]))

    def _list_actions(self, request: Request) -> Response:
        ticket_id = request.arg("ticket_id")
        if not ticket_id or not ticket_id.isdigit():
            raise Invalid("ticket_id", "ticket_id is required to list actions.")
        items = sorted((a for a in self.actions.values() if a["ticket_id"] == int(ticket_id)), key=lambda a: a["id"])
        if request.arg("excludesys") == "true":
            items = [a for a in items if not a.get("is_system")]
        return Response(200, {"record_count": len(items), "actions": items})

    def _list_users(self, request: Request) -> Response:
        items = sorted(self.users.values(), key=lambda u: u["id"])
        client_id, search = request.arg("client_id"), (request.arg("search") or "").lower()
        if client_id:
            items = [u for u in items if str(u["client_id"]) == client_id]
        if search:
            items = [u for u in items if search in u["name"].lower() or search in u["emailaddress"].lower()]
        return Response(200, self._paged(request, "users", items))

    def _paged(self, request: Request, key: str, items: list[dict[str, Any]]) -> dict[str, Any]:
        if request.arg("pageinate") != "true":
            return {"record_count": len(items), key: items}
        size_text, page_text = request.arg("page_size") or str(DEFAULT_PAGE_SIZE), request.arg("page_no") or "1"
        if not size_text.isdigit() or not 1 <= int(size_text) <= MAX_PAGE_SIZE:
            raise Invalid("page_size", f"page_size must be between 1 and {MAX_PAGE_SIZE}.")
        if not page_text.isdigit() or int(page_text) < 1:
            raise Invalid("page_no", "page_no starts at 1.")
        size, page = int(size_text), int(page_text)
        chunk = items[(page - 1) * size : page * size]
        return {"page_no": page, "page_size": size, "record_count": len(items), key: chunk}

    # --- writes ------------------------------------------------------------------------------------
    def _array(self, request: Request) -> list[dict[str, Any]]:
        try:
            body = request.json()
        except ValueError:
            raise Invalid("body", "The request body is not JSON.") from None
        if not isinstance(body, list) or not body or not all(isinstance(item, dict) for item in body):
            raise Invalid("body", "Post an array of objects.")
        return body

    def _write_tickets(self, request: Request) -> Response:
        written = []
        for item in self._array(request):
            ticket = self.tickets.get(int(item.get("id") or 0))
            if ticket is None:
                raise Invalid("id", f"Ticket {item.get('id')!r} does not exist (this stand-in only updates).")
            changes: dict[str, Any] = {}
            for field, known in (("status_id", STATUSES), ("priority_id", PRIORITIES), ("agent_id", self.agents)):
                if field in item:
                    value = item[field]
                    if not isinstance(value, int) or (value not in known and not (field == "agent_id" and value == 0)):
                        raise Invalid(field, f"{field} {value!r} is not a valid id.")
                    changes[field] = value
            ticket.update(changes, last_update=_now())
            self.writes.append({"id": ticket["id"], **changes})
            written.append(self._ticket_out(ticket))
        return Response(201, written[0] if len(written) == 1 else written)

    def _write_actions(self, request: Request) -> Response:
        created = []
        for item in self._array(request):
            ticket = self.tickets.get(int(item.get("ticket_id") or 0))
            if ticket is None:
                raise Invalid("ticket_id", f"Ticket {item.get('ticket_id')!r} does not exist.")
            note = item.get("note")
            if not isinstance(note, str) or not note.strip():
                raise Invalid("note", "An action needs a note.")
            timing = {}
            for field in ("timetaken", "timetakenadjusted", "nonbilltime"):
                value = item.get(field, 0)
                if not isinstance(value, int | float) or value < 0:
                    raise Invalid(field, f"{field} is a number of hours, 0 or more.")
                timing[field] = value
            for field in ("chargerate", "contract_id"):  # a time action's charge rate and contract, when given
                if field in item:
                    if not isinstance(item[field], int) or item[field] < 0:
                        raise Invalid(field, f"{field} is an id (a whole number).")
                    timing[field] = item[field]
            agent_id = item.get("who_agentid", 1)
            if agent_id not in self.agents:
                raise Invalid("who_agentid", f"who_agentid {agent_id!r} is not an agent.")
            action = self._new_action(
                ticket,
                note=note,
                outcome=str(item.get("outcome") or "Note"),
                hidden=bool(item.get("hiddenfromuser")),
                who=self.agents.get(agent_id, {}).get("name", "API"),
                agent_id=agent_id,
                sendemail=bool(item.get("sendemail")),
                **timing,
            )
            created.append(action)
        return Response(201, created[0] if len(created) == 1 else created)

    def _new_action(
        self, ticket: dict[str, Any], *, note: str, outcome: str, hidden: bool, who: str, agent_id: int, **extra: Any
    ) -> dict[str, Any]:
        action_id = max(self.actions, default=9000) + 1
        moment = _now()
        action = {
            "id": action_id,
            "ticket_id": ticket["id"],
            "outcome": outcome,
            "note": note,
            "who": who,
            "who_agentid": agent_id,
            "hiddenfromuser": hidden,
            "datetime": moment,
            **extra,
        }
        self.actions[action_id] = action
        ticket["last_update"] = moment
        return action

    # --- errors ------------------------------------------------------------------------------------
    def error_body(self, status: int, message: str) -> Any:
        return {"status": status, "title": message}

    def _problem(self, field: str, message: str) -> dict[str, Any]:
        return {
            "type": "https://tools.ietf.org/html/rfc9110#section-15.5.1",
            "title": "One or more validation errors occurred.",
            "status": 400,
            "errors": {field: [message]},
        }


if __name__ == "__main__":
    serve_from_command_line(HaloPSASandbox(), description="A HaloPSA API stand-in for demos.", default_port=8190)
