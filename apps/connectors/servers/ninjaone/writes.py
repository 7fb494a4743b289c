"""NinjaOne writes on Windows services and alerts: restart / start / stop a service, reset an alert.

Each is a dry run unless ``dry_run`` is false; the dry run shows the exact request it would send. Start and stop
declare each other as ``gaby_inverse``. A write is sent once (``retry=False``: a 5xx after NinjaOne may have acted
is reported, never repeated blindly); a 429 is retried, as NinjaOne did nothing with it.
"""

from __future__ import annotations

import time
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

from apps.connectors.servers.ninjaone.client import NinjaOne
from apps.connectors.servers.ninjaone.common import ADDITIVE, DESTRUCTIVE, guard, service_view

# The state each control action leads to, and the action that undoes it.
EXPECTED = {"START": "RUNNING", "STOP": "STOPPED", "RESTART": "RUNNING"}
INVERSE = {"START": "stop_service", "STOP": "start_service"}
SETTLE_S = 10.0  # how long to watch a service reach its new state (the agent applies the action asynchronously)


def register_writes(server: MCPServer, ninja: NinjaOne) -> None:
    def find_service(device_id: int, service: str) -> dict[str, Any]:
        found = ninja.api("GET", f"/device/{int(device_id)}/windows-services", params={"name": service}) or []
        exact = [s for s in found if service.lower() in (str(s.get("name")).lower(), str(s.get("displayName")).lower())]
        if not exact:
            raise ToolError(f"No Windows service {service!r} on device {device_id}; list_services shows its services.")
        return dict(exact[0])

    def settle(device_id: int, name: str, expected: str) -> str:
        deadline = time.monotonic() + SETTLE_S
        while True:
            state = str(find_service(device_id, name).get("state"))
            if state == expected or time.monotonic() >= deadline:
                return state
            time.sleep(ninja.settings.poll_interval)

    def control(device_id: int, service: str, action: str, dry_run: bool) -> dict[str, Any]:
        device = ninja.device(device_id)
        if not str(device.get("nodeClass", "")).startswith("WINDOWS"):
            raise ToolError(f"Device {device_id} is not a Windows device: it has no Windows services.")
        found = find_service(device_id, service)
        name = str(found["name"])
        request = {
            "method": "POST",
            "path": f"/v2/device/{int(device_id)}/windows-service/{name}/control",
            "body": {"action": action},
        }
        blockers = ["the device is offline (NinjaOne cannot reach its agent)"] if device.get("offline") else []
        outcome = {
            "device_id": device_id,
            "device": device.get("systemName"),
            "service": service_view(found),
            "action": action,
            "request": request,
        }
        if dry_run:
            return {"dry_run": True, "would_send": not blockers, "blocked_by": blockers, **outcome}
        if blockers:
            raise ToolError(f"Cannot {action.lower()} {name} on {device.get('systemName')}: {'; '.join(blockers)}.")
        before = str(found.get("state"))
        ninja.api(
            "POST", f"/device/{int(device_id)}/windows-service/{name}/control", json={"action": action}, retry=False
        )
        after = settle(device_id, name, EXPECTED[action])
        result: dict[str, Any] = {"dry_run": False, **outcome, "state_before": before, "state_after": after}
        if action in INVERSE and before != after:
            result["gaby_inverse"] = {"tool": INVERSE[action], "arguments": {"device_id": device_id, "service": name}}
        return result

    @server.tool(annotations=ADDITIVE)
    def restart_service(device_id: int, service: str, dry_run: bool = True) -> dict[str, Any]:
        """Restart a Windows service (e.g. ``Spooler`` for a stuck print queue) and report its state after.
        A dry run (the default) shows the exact request and sends nothing."""
        return guard(lambda: control(device_id, service, "RESTART", dry_run))

    @server.tool(annotations=ADDITIVE)
    def start_service(device_id: int, service: str, dry_run: bool = True) -> dict[str, Any]:
        """Start a stopped Windows service; stop_service undoes it. A dry run shows the exact request."""
        return guard(lambda: control(device_id, service, "START", dry_run))

    @server.tool(annotations=DESTRUCTIVE)
    def stop_service(device_id: int, service: str, dry_run: bool = True) -> dict[str, Any]:
        """Stop a Windows service (what depends on it stops working); start_service undoes it. A dry run shows
        the exact request."""
        return guard(lambda: control(device_id, service, "STOP", dry_run))

    @server.tool(annotations=ADDITIVE)
    def reset_alert(alert_uid: str, dry_run: bool = True) -> dict[str, Any]:
        """Reset (clear) an alert once its cause is fixed; the condition raises it again if the problem is still
        there. A dry run shows the alert and the exact request."""

        def reset() -> dict[str, Any]:
            alerts = ninja.api("GET", "/alerts", params={"df": ninja.settings.org_filter}) or []
            alert = next((a for a in alerts if isinstance(a, dict) and a.get("uid") == alert_uid), None)
            if alert is None:
                raise ToolError(
                    f"No open alert {alert_uid!r} in this connector's organizations; list_alerts shows the open ones."
                )
            outcome = {
                "alert_uid": alert_uid,
                "device_id": alert.get("deviceId"),
                "condition": alert.get("sourceName"),
                "message": alert.get("message"),
                "request": {"method": "DELETE", "path": f"/v2/alert/{alert_uid}"},
            }
            if dry_run:
                return {"dry_run": True, **outcome}
            ninja.api("DELETE", f"/alert/{alert_uid}", retry=False)
            return {"dry_run": False, "reset": True, **outcome}

        return guard(reset)
