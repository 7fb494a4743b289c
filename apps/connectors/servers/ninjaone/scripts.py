"""Library scripts on a device: list them, run one with parameters, poll the run to completion, return its output.

Two write tools share one implementation, so Gaby's safety gate decides approval with its ordinary rules:

* ``run_script`` runs any script of the NinjaOne library. Its ``_meta`` says ``"gaby/approval": "always"``, so the
  gate holds every call for a person whatever the client's risk threshold (apps/safety/policy.py), unless one of the
  client's allow rules names the call (a rule on ``run_script`` whose predicate names the script): an approver sees
  the script, the device and the exact request before anything runs.
* ``run_allowed_script`` runs only the scripts the connector's settings name (GABY_NINJA_ALLOWED_SCRIPTS) and
  refuses every other; it is annotated like a service restart, so in act mode it runs without a human.

NinjaOne answers a run with 204 and no job id: the run shows up in the device's activities as START_REQUESTED,
then COMPLETED in the same ``seriesUid`` with ``activityResult`` and the output in ``message``. The tool polls
for that until ``wait_seconds`` (bounded by GABY_NINJA_SCRIPT_WAIT_S); a longer run is returned as still
running, with the ``series_uid`` script_status looks up later.
"""

from __future__ import annotations

import time
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

from apps.connectors.calls import APPROVAL_META_KEY
from apps.connectors.servers.ninjaone.client import NinjaOne
from apps.connectors.servers.ninjaone.common import ADDITIVE, DESTRUCTIVE, READ, guard, when


def register_scripts(server: MCPServer, ninja: NinjaOne) -> None:
    settings = ninja.settings

    def allowed(script: dict[str, Any]) -> bool:
        names = {name.lower() for name in settings.allowed_scripts}
        return str(script.get("id")) in names or str(script.get("name", "")).lower() in names

    def options(device_id: int) -> dict[str, Any]:
        body = ninja.api("GET", f"/device/{int(device_id)}/scripting/options")
        return body if isinstance(body, dict) else {}

    def find_script(device_id: int, script: str) -> tuple[dict[str, Any], list[str]]:
        found = options(device_id)
        scripts = [s for s in found.get("scripts", []) if isinstance(s, dict) and s.get("type") == "SCRIPT"]
        wanted = script.strip().lower()
        match = next((s for s in scripts if wanted in (str(s.get("id")), str(s.get("name", "")).lower())), None)
        if match is None:
            raise ToolError(f"No library script {script!r} for device {device_id}; list_scripts shows them.")
        roles = list((found.get("credentials") or {}).get("roles") or [])
        return match, roles

    def activities(device_id: int, **params: Any) -> dict[str, Any]:
        body = ninja.api("GET", f"/device/{int(device_id)}/activities", params=params)
        return body if isinstance(body, dict) else {"activities": [], "lastActivityId": 0}

    def outcome_of(entries: list[dict[str, Any]]) -> dict[str, Any]:
        done = next((a for a in entries if a.get("statusCode") == "COMPLETED"), None)
        latest = done or (entries[0] if entries else {})
        return {
            "completed": done is not None,
            "status": latest.get("statusCode"),
            "result": done.get("activityResult") if done else None,
            "output": done.get("message") if done else None,
            "finished": when(done.get("activityTime")) if done else None,
        }

    def run(
        device_id: int, script: str, parameters: str, run_as: str, wait_seconds: int, dry_run: bool
    ) -> dict[str, Any]:
        device = ninja.device(device_id)
        found, roles = find_script(device_id, script)
        body: dict[str, Any] = {"type": "SCRIPT", "id": found["id"], "runAs": run_as}
        if parameters:
            body["parameters"] = parameters
        blockers = []
        if device.get("offline"):
            blockers.append("the device is offline: the script would wait until its agent is back")
        if roles and run_as not in roles:
            blockers.append(f"run_as must be one of {', '.join(roles)}")
        described = {
            "device_id": device_id,
            "device": device.get("systemName"),
            "script": {"id": found["id"], "name": found.get("name"), "description": found.get("description", "")},
            "allowed_by_settings": allowed(found),
            "request": {"method": "POST", "path": f"/v2/device/{int(device_id)}/script/run", "body": body},
        }
        if dry_run:
            return {"dry_run": True, "would_run": not blockers, "blocked_by": blockers, **described}
        if blockers:
            raise ToolError(f"Cannot run {found.get('name')!r} on {device.get('systemName')}: {'; '.join(blockers)}.")
        last = int(activities(device_id, pageSize=1).get("lastActivityId") or 0)
        ninja.api("POST", f"/device/{int(device_id)}/script/run", json=body, retry=False)
        deadline = time.monotonic() + max(1.0, min(float(wait_seconds), settings.script_wait))
        series = ""
        while True:
            params: dict[str, Any] = {"activityType": "ACTION", "newerThan": last}
            if series:
                params = {"seriesUid": series}
            entries = [a for a in activities(device_id, **params).get("activities", []) if isinstance(a, dict)]
            if not series:
                started = [a for a in entries if a.get("sourceConfigUid") == found.get("uid")]
                series = str(started[-1]["seriesUid"]) if started else ""
                entries = [a for a in entries if series and a.get("seriesUid") == series]
            state = outcome_of(entries)
            if state["completed"] or time.monotonic() >= deadline:
                break
            time.sleep(settings.poll_interval)
        note = "" if state["completed"] else "Still running: script_status with this series_uid shows how it ended."
        result = {"dry_run": False, **described, "series_uid": series, **state, "note": note}
        if state["result"] == "FAILURE":
            result["note"] = "The script ran and failed: its output says why."
        return result

    @server.tool(annotations=READ)
    def list_scripts(device_id: int) -> dict[str, Any]:
        """The NinjaOne library scripts that can run on a device, the run-as roles, and which scripts this
        connector's settings allow without approval (run_allowed_script); any other needs run_script."""

        def listed() -> dict[str, Any]:
            ninja.device(device_id)
            found = options(device_id)
            scripts = [
                {
                    "id": s.get("id"),
                    "name": s.get("name"),
                    "language": s.get("language"),
                    "description": s.get("description", ""),
                    "allowed_by_settings": allowed(s),
                }
                for s in found.get("scripts", [])
                if isinstance(s, dict) and s.get("type") == "SCRIPT"
            ]
            roles = (found.get("credentials") or {}).get("roles") or []
            return {"device_id": device_id, "scripts": scripts, "run_as_roles": roles}

        return guard(listed)

    @server.tool(annotations=READ)
    def script_status(device_id: int, series_uid: str) -> dict[str, Any]:
        """How a script run ended (or that it still runs): result, output and when it finished."""

        def status() -> dict[str, Any]:
            ninja.device(device_id)
            entries = activities(device_id, seriesUid=series_uid).get("activities", [])
            if not entries:
                raise ToolError(f"No script run {series_uid!r} on device {device_id}.")
            return {"device_id": device_id, "series_uid": series_uid, **outcome_of(entries)}

        return guard(status)

    @server.tool(annotations=DESTRUCTIVE, meta={APPROVAL_META_KEY: "always"})
    def run_script(
        device_id: int,
        script: str,
        parameters: str = "",
        run_as: str = "system",
        wait_seconds: int = 20,
        dry_run: bool = True,
    ) -> dict[str, Any]:
        """Run any NinjaOne library script (id or exact name) on a device with parameters, wait for it to finish
        and return its output. Scripts change machines: Gaby's safety gate holds this for approval. A dry run
        (the default) shows the script, the device and the exact request."""
        return guard(lambda: run(device_id, script, parameters, run_as, wait_seconds, dry_run))

    @server.tool(annotations=ADDITIVE)
    def run_allowed_script(
        device_id: int,
        script: str,
        parameters: str = "",
        run_as: str = "system",
        wait_seconds: int = 20,
        dry_run: bool = True,
    ) -> dict[str, Any]:
        """Run one of the scripts this connector's settings allow (e.g. Disk Cleanup) on a device, wait for it
        and return its output; any other script is refused (use run_script, which needs approval)."""

        def checked() -> dict[str, Any]:
            ninja.device(device_id)
            found, _ = find_script(device_id, script)
            if not allowed(found):
                permitted = ", ".join(settings.allowed_scripts) or "none"
                raise ToolError(
                    f"{found.get('name')!r} is not among the scripts this connector allows without approval "
                    f"({permitted}); run_script runs it once a human approves."
                )
            return run(device_id, script, parameters, run_as, wait_seconds, dry_run)

        return guard(checked)
