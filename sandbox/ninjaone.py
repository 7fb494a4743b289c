"""A NinjaOne stand-in: the OAuth token endpoint and the public API v2 parts Gaby's RMM connector uses.

Follows NinjaOne's public API v2 as documented (app.ninjarmm.com/apidocs): a token from ``POST /ws/oauth/token``
(client_credentials, scopes ``monitoring management control``), then ``Authorization: Bearer`` on every call;
401 once a token expired; ``after``/``pageSize`` paging on device lists and a ``cursor`` on ``/v2/queries/*``;
the device filter ``df`` (a subset: ``org = N``, ``org in (1,2)``, ``id = N``, ``id in (..)``, ``class eq X``,
``online``, ``offline`` joined with ``AND``); errors as ``{"resultCode", "errorMessage", "incidentId"}``.

Writes answer 204 as the API does: service control (START/PAUSE/STOP/RESTART), alert reset (``DELETE
/v2/alert/{uid}``) and script runs (``POST /v2/device/{id}/script/run``). A script run is asynchronous: it adds a
START_REQUESTED activity at once and, ``script_seconds`` later (never while the device is offline), a COMPLETED
activity in the same ``seriesUid`` whose ``activityResult`` is SUCCESS or FAILURE and whose ``message`` holds the
script's output — a client polls ``GET /v2/device/{id}/activities`` to see it end.

Seed: see sandbox/ninjaone_data.py (DEMO_SEED). Inspect ``devices`` (by id), ``alerts`` (by uid),
``service_actions``, ``script_runs``, ``resets``, ``tokens_issued``; ``expire_tokens()`` makes issued tokens
answer 401. Run alone for the demo: ``python -m sandbox.ninjaone --port 8190``.
"""

from __future__ import annotations

import copy
import re
import secrets
import time
import uuid
from typing import Any

from sandbox.base import Request, Response, Sandbox, serve_from_command_line
from sandbox.ninjaone_data import (
    CATEGORIES,
    DEMO_SEED,
    RUN_AS_ROLES,
    alert_record,
    device_detailed,
    device_record,
    device_summary,
    script_effect,
    script_record,
)

SCOPES = frozenset({"monitoring", "management", "control"})
SERVICE_ACTIONS = {"START": "RUNNING", "STOP": "STOPPED", "RESTART": "RUNNING", "PAUSE": "PAUSED"}
MAX_PAGE = 1000


class NinjaOneSandbox(Sandbox):
    name = "ninjaone"

    def __init__(self, seed: dict[str, Any] | None = None) -> None:
        super().__init__()
        seed = copy.deepcopy(seed if seed is not None else DEMO_SEED)
        self.clients: dict[str, str] = dict(seed.get("clients", {}))
        self.token_lifespan = int(seed.get("token_lifespan", 3600))
        self.script_seconds = float(seed.get("script_seconds", 0.3))
        self.tokens: dict[str, tuple[float, frozenset[str]]] = {}  # access token -> (expiry, scopes)
        self.tokens_issued = 0
        self._seed = seed
        self.reset_data()

    def reset_data(self) -> None:
        with self.lock:
            self.organizations = {int(o["id"]): dict(o) for o in self._seed.get("organizations", [])}
            self.devices = {d["id"]: d for d in (device_record(raw) for raw in self._seed.get("devices", []))}
            alerts = [alert_record(raw, n) for n, raw in enumerate(self._seed.get("alerts", []))]
            self.alerts = {alert["uid"]: alert for alert in alerts}
            self.scripts = {s["id"]: s for s in (script_record(raw) for raw in self._seed.get("scripts", []))}
            self.activities: list[dict[str, Any]] = []
            self._pending: list[dict[str, Any]] = []  # script runs not finished yet
            self._cursors: dict[str, tuple[list[dict[str, Any]], int]] = {}
            self.service_actions: list[dict[str, Any]] = []
            self.script_runs: list[dict[str, Any]] = []
            self.resets: list[str] = []

    # --- inspection ----------------------------------------------------------------------------
    def service(self, device_id: int, name: str) -> dict[str, Any]:
        return dict(self.devices[device_id]["services"][name])

    def set_offline(self, device_id: int, offline: bool) -> None:
        with self.lock:
            self.devices[device_id]["offline"] = offline

    def expire_tokens(self) -> None:
        with self.lock:
            self.tokens = {token: (0.0, scopes) for token, (_, scopes) in self.tokens.items()}

    def error_body(self, status: int, message: str) -> Any:
        return _error("FAILURE", message)

    # --- HTTP ------------------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        if request.path == "/ws/oauth/token" and request.method == "POST":
            return self._token(request)
        if not request.path.startswith("/v2/"):
            return Response(404, _error("NOT_FOUND", f"No resource at {request.path}"))
        scopes = self._scopes(request)
        if scopes is None:
            return Response(401, _error("UNAUTHORIZED", "Invalid or expired access token"))
        needed = "monitoring" if request.method == "GET" else "management"
        if needed not in scopes:
            return Response(403, _error("FORBIDDEN", f"This token lacks the '{needed}' scope"))
        self._finish_due_scripts()
        return self._route(request, request.path[len("/v2") :])

    def _scopes(self, request: Request) -> frozenset[str] | None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        expiry, scopes = self.tokens.get(token, (0.0, frozenset()))
        return scopes if scheme.lower() == "bearer" and expiry > time.time() else None

    def _token(self, request: Request) -> Response:
        form = {key: values[-1] for key, values in request.form().items()}
        if form.get("grant_type") != "client_credentials":
            return Response(400, {"error": "unsupported_grant_type"})
        client_id = form.get("client_id", "")
        if not client_id or self.clients.get(client_id) != form.get("client_secret"):
            return Response(401, {"error": "invalid_client", "error_description": "Bad client credentials"})
        wanted = frozenset((form.get("scope") or "monitoring").split())
        if not wanted <= SCOPES:
            return Response(400, {"error": "invalid_scope", "error_description": f"Unknown scope in {sorted(wanted)}"})
        token = secrets.token_urlsafe(24)
        self.tokens[token] = (time.time() + self.token_lifespan, wanted)
        self.tokens_issued += 1
        body = {"access_token": token, "expires_in": self.token_lifespan, "scope": " ".join(sorted(wanted))}
        return Response(200, {**body, "token_type": "Bearer"})

    def _route(self, request: Request, path: str) -> Response:
        method = request.method
        if path == "/organizations" and method == "GET":
            return self._organizations(request)
        if path in ("/devices", "/devices-detailed") and method == "GET":
            return self._device_list(request, detailed=path == "/devices-detailed")
        if path == "/alerts" and method == "GET":
            return self._alert_list(request, None)
        if path == "/queries/device-health" and method == "GET":
            return self._device_health(request)
        alert = re.fullmatch(r"/alert/([^/]+)", path)
        if alert and method == "DELETE":
            return self._reset_alert(alert.group(1))
        match = re.fullmatch(r"/device/(\d+)(/.*)?", path)
        if match is None:
            return Response(404, _error("NOT_FOUND", f"No resource at /v2{path}"))
        device = self.devices.get(int(match.group(1)))
        if device is None:
            return Response(404, _error("DEVICE_NOT_FOUND", f"Device {match.group(1)} not found"))
        rest = match.group(2) or ""
        if rest == "" and method == "GET":
            return Response(200, device_detailed(device))
        if rest == "/volumes" and method == "GET":
            return Response(200, [dict(vol) for vol in device["volumes"]])
        if rest == "/alerts" and method == "GET":
            return self._alert_list(request, device["id"])
        if rest == "/windows-services" and method == "GET":
            return self._services(request, device)
        control = re.fullmatch(r"/windows-service/([^/]+)/control", rest)
        if control and method == "POST":
            return self._control(request, device, control.group(1))
        if rest == "/scripting/options" and method == "GET":
            return self._scripting_options(device)
        if rest == "/script/run" and method == "POST":
            return self._run_script(request, device)
        if rest == "/activities" and method == "GET":
            return self._activities(request, device)
        return Response(405, _error("METHOD_NOT_ALLOWED", f"{method} /v2{path} is not supported"))

    # --- reads ------------------------------------------------------------------------------------
    def _organizations(self, request: Request) -> Response:
        size, after = _paging(request)
        if size is None:
            return Response(400, _error("INVALID_PARAMETER", "pageSize and after must be integers"))
        orgs = [o for oid, o in sorted(self.organizations.items()) if oid > after]
        return Response(200, [{"nodeApprovalMode": "AUTOMATIC", "tags": [], "fields": {}, **o} for o in orgs[:size]])

    def _filtered(self, request: Request) -> list[dict[str, Any]] | str:
        """Devices matching ``df``, by id; a string is the reason the filter is not understood."""
        clauses = [part.strip() for part in re.split(r"\s+AND\s+", request.arg("df", "") or "", flags=re.I)]
        devices = sorted(self.devices.values(), key=lambda d: d["id"])
        for clause in filter(None, clauses):
            keep = _clause(clause)
            if keep is None:
                return f"Unsupported device filter clause {clause!r}"
            devices = [d for d in devices if keep(d)]
        return devices

    def _device_list(self, request: Request, *, detailed: bool) -> Response:
        size, after = _paging(request)
        found = self._filtered(request)
        if size is None or isinstance(found, str):
            return Response(400, _error("INVALID_PARAMETER", found if isinstance(found, str) else "Bad paging"))
        page = [d for d in found if d["id"] > after][:size]
        return Response(200, [device_detailed(d) if detailed else device_summary(d) for d in page])

    def _alert_list(self, request: Request, device_id: int | None) -> Response:
        found = self._filtered(request)
        if isinstance(found, str):
            return Response(400, _error("INVALID_PARAMETER", found))
        ids = {d["id"] for d in found} if device_id is None else {device_id}
        source = request.arg("sourceType")
        alerts = [
            a for a in self.alerts.values() if a["deviceId"] in ids and (source is None or a["sourceType"] == source)
        ]
        return Response(200, sorted(alerts, key=lambda a: a["createTime"], reverse=True))

    def _device_health(self, request: Request) -> Response:
        size = _int(request.arg("pageSize"), 100)
        cursor = request.arg("cursor")
        if cursor:
            if cursor not in self._cursors:
                return Response(400, _error("INVALID_CURSOR", "Cursor expired or unknown"))
            rows, offset = self._cursors.pop(cursor)
        else:
            found = self._filtered(request)
            if isinstance(found, str):
                return Response(400, _error("INVALID_PARAMETER", found))
            rows, offset = [self._health_row(d) for d in found], 0
        size = max(1, min(size or 100, MAX_PAGE))
        page = rows[offset : offset + size]
        name = ""
        if offset + size < len(rows):
            name = secrets.token_urlsafe(12)
            self._cursors[name] = (rows, offset + size)
        cursor_info = {"name": name, "offset": offset, "count": len(page), "expires": time.time() + 300}
        return Response(200, {"cursor": cursor_info, "data": page})

    def _health_row(self, device: dict[str, Any]) -> dict[str, Any]:
        alerts = [a for a in self.alerts.values() if a["deviceId"] == device["id"]]
        status = "UNHEALTHY" if device["offline"] else "NEEDS_ATTENTION" if alerts else "HEALTHY"
        return {
            "deviceId": device["id"],
            "organizationId": device["organizationId"],
            "healthStatus": status,
            "offline": device["offline"],
            "alertCount": len(alerts),
            "activeThreatsCount": 0,
            "failedOSPatchesCount": 0,
            "pendingOSPatchesCount": 2 if device["offline"] else 0,
            "pendingRebootReason": None,
            "timestamp": device["lastUpdate"],
        }

    def _services(self, request: Request, device: dict[str, Any]) -> Response:
        if not device["nodeClass"].startswith("WINDOWS"):
            return Response(400, _error("UNSUPPORTED_DEVICE", "Windows services exist only on Windows devices"))
        name, state = request.arg("name"), request.arg("state")
        services = [
            dict(s)
            for s in device["services"].values()
            if (name is None or name.lower() in (s["name"].lower(), s["displayName"].lower()))
            and (state is None or s["state"] == state)
        ]
        return Response(200, services)

    def _scripting_options(self, device: dict[str, Any]) -> Response:
        scripts = [{k: v for k, v in s.items() if k != "effect"} for s in self.scripts.values()]
        roles = {"roles": list(RUN_AS_ROLES), "credentials": []}
        return Response(200, {"categories": list(CATEGORIES), "scripts": scripts, "credentials": roles})

    def _activities(self, request: Request, device: dict[str, Any]) -> Response:
        newer, older = _int(request.arg("newerThan"), 0), _int(request.arg("olderThan"), 0)
        size = max(1, min(_int(request.arg("pageSize"), 200) or 200, MAX_PAGE))
        kind, status, series = request.arg("activityType"), request.arg("status"), request.arg("seriesUid")
        found = [
            a
            for a in reversed(self.activities)
            if a["deviceId"] == device["id"]
            and a["id"] > (newer or 0)
            and (not older or a["id"] < older)
            and (kind is None or a["activityType"] == kind)
            and (status is None or a["statusCode"] == status)
            and (series is None or a["seriesUid"] == series)
        ][:size]
        last = max((a["id"] for a in self.activities), default=0)
        return Response(200, {"lastActivityId": last, "activities": [dict(a) for a in found]})

    # --- writes -----------------------------------------------------------------------------------
    def _control(self, request: Request, device: dict[str, Any], service_id: str) -> Response:
        body = request.json()
        action = body.get("action") if isinstance(body, dict) else None
        if action not in SERVICE_ACTIONS:
            return Response(400, _error("INVALID_PARAMETER", "action must be one of START, PAUSE, STOP, RESTART"))
        service = device["services"].get(service_id)
        if service is None:
            return Response(404, _error("SERVICE_NOT_FOUND", f"Service {service_id} not found on the device"))
        if device["offline"]:  # assumption: the API refuses rather than queues a control for an offline agent
            return Response(400, _error("DEVICE_OFFLINE", "The device is offline"))
        service["state"] = SERVICE_ACTIONS[action]
        if service_id == "Spooler" and action in ("STOP", "RESTART"):
            device["print_jobs"] = 0  # a restart drops the stuck job, as it does on Windows
        self.service_actions.append({"deviceId": device["id"], "service": service_id, "action": action})
        return Response(204)

    def _reset_alert(self, uid: str) -> Response:
        if self.alerts.pop(uid, None) is None:
            return Response(404, _error("ALERT_NOT_FOUND", f"Alert {uid} not found"))
        self.resets.append(uid)
        return Response(204)

    def _run_script(self, request: Request, device: dict[str, Any]) -> Response:
        body = request.json()
        if not isinstance(body, dict) or body.get("type") != "SCRIPT":
            return Response(400, _error("INVALID_PARAMETER", "type must be SCRIPT (built-in ACTIONs are not served)"))
        script = self.scripts.get(_int(body.get("id"), -1) or -1)
        if script is None:
            return Response(404, _error("SCRIPT_NOT_FOUND", f"Script {body.get('id')} not found"))
        run_as = body.get("runAs", "system")
        if run_as not in RUN_AS_ROLES:
            return Response(400, _error("INVALID_PARAMETER", f"runAs must be one of {', '.join(RUN_AS_ROLES)}"))
        series = str(uuid.uuid4())
        run = {"deviceId": device["id"], "scriptId": script["id"], "parameters": body.get("parameters", "")}
        self.script_runs.append({**run, "runAs": run_as, "seriesUid": series})
        self._activity(device["id"], script, series, "START_REQUESTED", f"Run of '{script['name']}' requested")
        self._pending.append({**run, "script": script, "series": series, "due": time.time() + self.script_seconds})
        return Response(204)

    def _activity(
        self, device_id: int, script: dict[str, Any], series: str, code: str, message: str, **extra: Any
    ) -> None:
        self.activities.append(
            {
                "id": len(self.activities) + 1,
                "activityTime": time.time(),
                "deviceId": device_id,
                "severity": "NONE",
                "priority": "NONE",
                "seriesUid": series,
                "activityType": "ACTION",
                "statusCode": code,
                "status": code.replace("_", " ").title(),
                "sourceConfigUid": script["uid"],
                "sourceName": script["name"],
                "subject": "Script",
                "message": message,
                "type": "ACTION",
                **extra,
            }
        )

    def _finish_due_scripts(self) -> None:
        now = time.time()
        for run in list(self._pending):
            device = self.devices[run["deviceId"]]
            if run["due"] > now or device["offline"]:
                continue
            self._pending.remove(run)
            ok, output = script_effect(run["script"]["effect"], device, str(run["parameters"] or ""))
            self._activity(
                device["id"],
                run["script"],
                run["series"],
                "COMPLETED",
                output,
                activityResult="SUCCESS" if ok else "FAILURE",
            )


def _clause(clause: str) -> Any:
    """One ``df`` clause as a predicate on a device, or None when the stand-in does not understand it."""
    lowered = clause.lower()
    if lowered in ("offline", "online"):
        return lambda d: d["offline"] == (lowered == "offline")
    match = re.fullmatch(r"(org|id)\s*(=|eq|in)\s*\(?\s*([\d,\s]+?)\s*\)?", clause, flags=re.I)
    if match:
        key = "organizationId" if match.group(1).lower() == "org" else "id"
        wanted = {int(part) for part in match.group(3).split(",") if part.strip()}
        return lambda d: d[key] in wanted
    match = re.fullmatch(r"class\s*(?:=|eq)\s*([A-Z_]+)", clause, flags=re.I)
    if match:
        return lambda d: d["nodeClass"] == match.group(1).upper()
    return None


def _int(value: Any, default: int | None) -> int | None:
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _paging(request: Request) -> tuple[int | None, int]:
    size, after = _int(request.arg("pageSize"), MAX_PAGE), _int(request.arg("after"), 0)
    if size is None or after is None or size < 1:
        return None, 0
    return min(size, MAX_PAGE), after


def _error(code: str, message: str) -> dict[str, Any]:
    return {"resultCode": code, "errorMessage": message, "incidentId": str(uuid.uuid4())}


def main() -> None:
    serve_from_command_line(
        NinjaOneSandbox(DEMO_SEED), description="Serve the NinjaOne stand-in with its demo seed.", default_port=8190
    )


if __name__ == "__main__":
    main()
