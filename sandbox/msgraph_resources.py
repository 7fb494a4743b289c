"""The licence, group, Intune and domain resources of the Graph stand-in (users and their authentication methods
are in msgraph_routes.py, which also holds the route table these register into)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from sandbox import msgraph_odata as odata
from sandbox.base import Request, Response
from sandbox.msgraph_data import SERVICE_PLANS, Tenant
from sandbox.msgraph_routes import DEVICE_ACTIONS, GROUP_PROPERTIES, missing, now, on, user_or_404, user_shape

if TYPE_CHECKING:
    from sandbox.msgraph import GraphSandbox


# --- licences ---------------------------------------------------------------------------------------
def _sku_shape(tenant: Tenant, sku: dict[str, Any]) -> dict[str, Any]:
    plans = SERVICE_PLANS.get(sku["skuPartNumber"], [])
    return {
        "accountId": tenant.id,
        "accountName": tenant.name,
        "appliesTo": "User",
        "capabilityStatus": sku["capabilityStatus"],
        "consumedUnits": tenant.consumed(sku["skuId"]),
        "id": f"{tenant.id}_{sku['skuId']}",
        "skuId": sku["skuId"],
        "skuPartNumber": sku["skuPartNumber"],
        "subscriptionIds": [],
        "prepaidUnits": {"enabled": sku["units"], "lockedOut": 0, "suspended": 0, "warning": 0},
        "servicePlans": [
            {
                "servicePlanId": f"{sku['skuId'][:8]}-{n:04d}-0000-0000-000000000000",
                "servicePlanName": name,
                "provisioningStatus": "Success",
                "appliesTo": "User",
            }
            for n, (name, _) in enumerate(plans)
        ],
    }


@on("GET", r"/subscribedSkus", "LicenseAssignment.Read.All", "LicenseAssignment.ReadWrite.All")
def subscribed_skus(sandbox: GraphSandbox, tenant: Tenant, request: Request, match: re.Match[str]) -> Response:
    skus = [_sku_shape(tenant, sku) for sku in tenant.skus.values()]
    return Response(200, {"@odata.context": f"{sandbox.graph_url}/$metadata#subscribedSkus", "value": skus})


@on("GET", r"/users/([^/]+)/licenseDetails", "LicenseAssignment.Read.All", "User.Read.All")
def license_details(sandbox: GraphSandbox, tenant: Tenant, request: Request, match: re.Match[str]) -> Response:
    user = user_or_404(tenant, match.group(1))
    if isinstance(user, Response):
        return user
    details = []
    for assigned in user["assignedLicenses"]:
        shape = _sku_shape(tenant, tenant.skus[assigned["skuId"]])
        details.append(
            {
                "id": f"{user['id']}_{assigned['skuId']}",
                "skuId": shape["skuId"],
                "skuPartNumber": shape["skuPartNumber"],
                "servicePlans": shape["servicePlans"],
            }
        )
    context = f"users('{user['id']}')/licenseDetails"
    return Response(200, {"@odata.context": f"{sandbox.graph_url}/$metadata#{context}", "value": details})


@on("POST", r"/users/([^/]+)/assignLicense", "LicenseAssignment.ReadWrite.All")
def assign_license(sandbox: GraphSandbox, tenant: Tenant, request: Request, match: re.Match[str]) -> Response:
    user = user_or_404(tenant, match.group(1))
    if isinstance(user, Response):
        return user
    body = request.json()
    if not isinstance(body, dict) or "addLicenses" not in body or "removeLicenses" not in body:
        return odata.error(400, "Both addLicenses and removeLicenses are required (either may be an empty list).")
    adds = [str(item.get("skuId")) for item in body["addLicenses"] or []]
    removes = [str(sku) for sku in body["removeLicenses"] or []]
    for sku_id in adds + removes:
        if sku_id not in tenant.skus:
            return odata.error(
                400, f"License {sku_id} does not correspond to a valid company License.", "Request_BadRequest"
            )
    if adds and not user["usageLocation"]:
        return odata.error(
            400, "License assignment cannot be done for user with invalid usage location.", "Request_BadRequest"
        )
    held = {a["skuId"] for a in user["assignedLicenses"]}
    for sku_id in adds:
        if sku_id not in held and tenant.consumed(sku_id) >= tenant.skus[sku_id]["units"]:
            return odata.error(
                400,
                f"License assignment failed because the subscription {tenant.skus[sku_id]['skuPartNumber']} has "
                "no more available licenses.",
                "Request_BadRequest",
            )
    user["assignedLicenses"] = [a for a in user["assignedLicenses"] if a["skuId"] not in removes]
    user["assignedLicenses"] += [{"skuId": s, "disabledPlans": []} for s in adds if s not in held]
    sandbox.record(tenant, "assignLicense", user=user["id"], add=adds, remove=removes)
    body = {"@odata.context": f"{sandbox.graph_url}/$metadata#users/$entity", **user_shape(user, request)}
    return Response(200, body)


# --- groups ---------------------------------------------------------------------------------------
def _group_shape(group: dict[str, Any]) -> dict[str, Any]:
    return {"@odata.type": "#microsoft.graph.group", "id": group["id"], **{k: group[k] for k in GROUP_PROPERTIES}}


@on("GET", r"/users/([^/]+)/memberOf", "GroupMember.Read.All")
def member_of(sandbox: GraphSandbox, tenant: Tenant, request: Request, match: re.Match[str]) -> Response:
    user = user_or_404(tenant, match.group(1))
    if isinstance(user, Response):
        return user
    groups = sorted((g for g in tenant.groups.values() if user["id"] in g["members"]), key=lambda g: g["displayName"])
    return odata.page(request, groups, base=sandbox.graph_url, context="directoryObjects", shape=_group_shape)


@on("GET", r"/groups", "GroupMember.Read.All")
def list_groups(sandbox: GraphSandbox, tenant: Tenant, request: Request, match: re.Match[str]) -> Response:
    predicate = odata.parse_filter(request.arg("$filter"))
    found = sorted((g for g in tenant.groups.values() if predicate(g)), key=lambda g: g["displayName"])
    return odata.page(request, found, base=sandbox.graph_url, context="groups", shape=_group_shape)


@on("GET", r"/groups/([^/]+)", "GroupMember.Read.All")
def get_group(sandbox: GraphSandbox, tenant: Tenant, request: Request, match: re.Match[str]) -> Response:
    group = tenant.groups.get(match.group(1))
    if group is None:
        return missing(match.group(1))
    return Response(200, {"@odata.context": f"{sandbox.graph_url}/$metadata#groups/$entity", **_group_shape(group)})


def _exchange_managed(group: dict[str, Any]) -> Response | None:
    if group["mailEnabled"] and "Unified" not in group["groupTypes"]:
        return odata.error(
            400,
            "Cannot Update a mail-enabled security groups and or distribution list.",
            "Request_BadRequest",
        )
    return None


@on("POST", r"/groups/([^/]+)/members/\$ref", "GroupMember.ReadWrite.All")
def add_member(sandbox: GraphSandbox, tenant: Tenant, request: Request, match: re.Match[str]) -> Response:
    group = tenant.groups.get(match.group(1))
    if group is None:
        return missing(match.group(1))
    body = request.json()
    reference = str((body or {}).get("@odata.id", "")) if isinstance(body, dict) else ""
    member_id = reference.rstrip("/").rsplit("/", 1)[-1].removeprefix("directoryObjects('").rstrip("')")
    if not reference or member_id not in tenant.users:
        return missing(member_id or "@odata.id")
    refused = _exchange_managed(group)
    if refused:
        return refused
    if member_id in group["members"]:
        return odata.error(
            400,
            "One or more added object references already exist for the following modified properties: 'members'.",
            "Request_BadRequest",
        )
    group["members"].append(member_id)
    sandbox.record(tenant, "addMember", group=group["id"], user=member_id)
    return Response(204)


@on("DELETE", r"/groups/([^/]+)/members/([^/]+)/\$ref", "GroupMember.ReadWrite.All")
def remove_member(sandbox: GraphSandbox, tenant: Tenant, request: Request, match: re.Match[str]) -> Response:
    group = tenant.groups.get(match.group(1))
    if group is None:
        return missing(match.group(1))
    refused = _exchange_managed(group)
    if refused:
        return refused
    member_id = match.group(2)
    if member_id not in group["members"]:
        return missing(member_id)
    group["members"].remove(member_id)
    sandbox.record(tenant, "removeMember", group=group["id"], user=member_id)
    return Response(204)


# --- Intune managed devices ------------------------------------------------------------------------
def _device_shape(device: dict[str, Any]) -> dict[str, Any]:
    return {"@odata.type": "#microsoft.graph.managedDevice", **device}


@on("GET", r"/users/([^/]+)/managedDevices", "DeviceManagementManagedDevices.Read.All")
def user_devices(sandbox: GraphSandbox, tenant: Tenant, request: Request, match: re.Match[str]) -> Response:
    user = user_or_404(tenant, match.group(1))
    if isinstance(user, Response):
        return user
    devices = sorted((d for d in tenant.devices.values() if d["userId"] == user["id"]), key=lambda d: d["deviceName"])
    return odata.page(request, devices, base=sandbox.graph_url, context="managedDevices", shape=_device_shape)


@on("GET", r"/deviceManagement/managedDevices", "DeviceManagementManagedDevices.Read.All")
def list_devices(sandbox: GraphSandbox, tenant: Tenant, request: Request, match: re.Match[str]) -> Response:
    predicate = odata.parse_filter(request.arg("$filter"))
    devices = sorted((d for d in tenant.devices.values() if predicate(d)), key=lambda d: d["deviceName"])
    context = "deviceManagement/managedDevices"
    return odata.page(request, devices, base=sandbox.graph_url, context=context, shape=_device_shape)


@on("GET", r"/deviceManagement/managedDevices/([^/]+)", "DeviceManagementManagedDevices.Read.All")
def get_device(sandbox: GraphSandbox, tenant: Tenant, request: Request, match: re.Match[str]) -> Response:
    device = tenant.devices.get(match.group(1))
    if device is None:
        return missing(match.group(1))
    context = f"{sandbox.graph_url}/$metadata#deviceManagement/managedDevices/$entity"
    return Response(200, {"@odata.context": context, **_device_shape(device)})


@on(
    "POST",
    r"/deviceManagement/managedDevices/([^/]+)/(syncDevice|rebootNow|retire|wipe)",
    "DeviceManagementManagedDevices.PrivilegedOperations.All",
)
def device_action(sandbox: GraphSandbox, tenant: Tenant, request: Request, match: re.Match[str]) -> Response:
    device = tenant.devices.get(match.group(1))
    if device is None:
        return missing(match.group(1))
    action = match.group(2)
    if device["managementState"] in ("retirePending", "wipePending"):
        return odata.error(
            400, f"The device has a pending {device['managementState'][:-7]} action; no other action can be sent."
        )
    if action == "syncDevice":
        device["lastSyncDateTime"] = now()
    elif action in ("retire", "wipe"):
        device["managementState"] = DEVICE_ACTIONS[action]
    body = request.json() if request.body else None
    sandbox.record(tenant, action, device=device["id"], body=body)
    return Response(204)


# --- domains ----------------------------------------------------------------------------------------
@on("GET", r"/domains", "Domain.Read.All")
def domains(sandbox: GraphSandbox, tenant: Tenant, request: Request, match: re.Match[str]) -> Response:
    return Response(200, {"@odata.context": f"{sandbox.graph_url}/$metadata#domains", "value": tenant.domains})
