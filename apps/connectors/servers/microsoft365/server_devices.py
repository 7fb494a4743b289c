"""The Intune device actions of the Microsoft 365 server: sync, restart, retire, wipe (dry run first; tooling.py).

Retire and wipe cannot be undone: besides the destructive annotation their ``_meta`` says ``"gaby/approval":
"always"``, so Gaby's safety gate holds every real run for a person whatever the client's risk threshold, unless
an allow rule names the call (apps/safety/policy.py)."""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from msgraph.generated.device_management.managed_devices.item.wipe.wipe_post_request_body import (
    WipePostRequestBody,
)
from msgraph.generated.models.managed_device import ManagedDevice

from apps.connectors.calls import APPROVAL_META_KEY
from apps.connectors.servers.microsoft365.client import Graph, GraphFailure
from apps.connectors.servers.microsoft365.tooling import ADDITIVE, DESTRUCTIVE, apply, guard, risk


def register(server: MCPServer, graph: Graph) -> None:
    client = graph.client

    async def device_by_id(device_id: str) -> ManagedDevice:
        builder = client.device_management.managed_devices.by_managed_device_id(device_id)
        try:
            found = await graph.call(lambda: builder.get(), permission="DeviceManagementManagedDevices.Read.All")
        except GraphFailure as exc:
            if exc.status == 404:
                raise ToolError(f"No Intune device {device_id!r} in this tenant; list_devices gives ids.") from None
            raise
        if found is None:
            raise ToolError(f"Microsoft Graph answered the lookup of device {device_id!r} without a device.")
        return found

    async def device_action(
        device_id: str, action: str, *, dry_run: bool, estimate: dict[str, Any], body: WipePostRequestBody | None = None
    ) -> dict[str, Any]:
        found = await device_by_id(device_id)
        item = client.device_management.managed_devices.by_managed_device_id(str(found.id))
        builder = getattr(item, action)
        info = builder.to_post_request_information(body) if body is not None else builder.to_post_request_information()
        pending = str(getattr(found.management_state, "value", found.management_state) or "")
        blocked = [f"the device already has a pending action ({pending})"] if pending.endswith("Pending") else []
        return await apply(
            graph,
            [info],
            (lambda: builder.post(body)) if body is not None else (lambda: builder.post()),
            dry_run=dry_run,
            estimate=estimate,
            outcome={
                "device_id": found.id,
                "device_name": found.device_name,
                "email": found.email_address or found.user_principal_name,
                "operating_system": found.operating_system,
                "ownership": getattr(found.managed_device_owner_type, "value", None),
            },
            permission="DeviceManagementManagedDevices.PrivilegedOperations.All",
            blocked_by=blocked,
        )

    @server.tool(annotations=ADDITIVE)
    async def sync_device(device_id: str, dry_run: bool = True) -> dict[str, Any]:
        """Ask an Intune device to check in now (policies, apps, compliance)."""
        return await guard(
            lambda: device_action(
                device_id,
                "sync_device",
                dry_run=dry_run,
                estimate=risk(10, "the device checks in; nothing on it changes"),
            )
        )

    @server.tool(annotations=DESTRUCTIVE)
    async def restart_device(device_id: str, dry_run: bool = True) -> dict[str, Any]:
        """Restart an Intune device remotely (unsaved work on it is lost)."""
        return await guard(
            lambda: device_action(
                device_id, "reboot_now", dry_run=dry_run, estimate=risk(45, "unsaved work on the device is lost")
            )
        )

    @server.tool(annotations=DESTRUCTIVE, meta={APPROVAL_META_KEY: "always"})
    async def retire_device(device_id: str, dry_run: bool = True) -> dict[str, Any]:
        """Retire a device: remove company data, apps and profiles and unenroll it; personal data stays. Cannot be
        undone — the user must enroll it again."""
        return await guard(
            lambda: device_action(
                device_id, "retire", dry_run=dry_run, estimate=risk(80, "company data and management leave the device")
            )
        )

    @server.tool(annotations=DESTRUCTIVE, meta={APPROVAL_META_KEY: "always"})
    async def wipe_device(device_id: str, keep_user_data: bool = False, dry_run: bool = True) -> dict[str, Any]:
        """Factory-reset a device (with ``keep_user_data``, Windows keeps the user's files). Cannot be undone."""
        body = WipePostRequestBody(keep_enrollment_data=False, keep_user_data=keep_user_data)
        return await guard(
            lambda: device_action(
                device_id, "wipe", dry_run=dry_run, body=body, estimate=risk(100, "erases the device; cannot be undone")
            )
        )
