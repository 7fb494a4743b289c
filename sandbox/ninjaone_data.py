"""The NinjaOne stand-in's records: the demo seed and the builders that turn seed dicts into API shapes.

Kept apart from the HTTP handling (sandbox/ninjaone.py) so the demo, the evals and the organization-mapping
flow can read and extend the same seed. Organizations are the MSP's customers (later mapped to Gaby clients);
devices belong to one organization each. Times are epoch seconds, as NinjaOne's API sends them.
"""

from __future__ import annotations

import uuid
from typing import Any

NOW_S = 1_763_000_000.0  # fixed "now" for seeded timestamps, so fixtures are reproducible
GB = 1024**3


def ago(minutes: float) -> float:
    return NOW_S - minutes * 60


# The library scripts. ``effect`` names what running one does to the stand-in's state (sandbox/ninjaone.py).
SCRIPTS: list[dict[str, Any]] = [
    {
        "id": 41,
        "name": "Disk Cleanup",
        "language": "powershell",
        "categoryId": 3,
        "description": "Empties temp folders, the Windows Update download cache and the recycle bin on C:.",
        "effect": "disk_cleanup",
    },
    {
        "id": 42,
        "name": "Clear Print Queue",
        "language": "powershell",
        "categoryId": 4,
        "description": "Stops the Print Spooler, deletes stuck spool files and starts it again.",
        "effect": "clear_print_queue",
    },
    {
        "id": 43,
        "name": "Collect Network Info",
        "language": "batch",
        "categoryId": 5,
        "description": "ipconfig /all and a ping of the gateway; takes an optional host to test.",
        "effect": "network_info",
    },
    {
        "id": 44,
        "name": "Remove Local Admin",
        "language": "powershell",
        "categoryId": 6,
        "description": "Removes the named account from the local Administrators group.",
        "effect": "fails",
    },
]
CATEGORIES = [
    {"id": 3, "name": "Maintenance", "internal": False},
    {"id": 4, "name": "Printing", "internal": False},
    {"id": 5, "name": "Diagnostics", "internal": False},
    {"id": 6, "name": "Security", "internal": False},
]
RUN_AS_ROLES = ["system", "current_user"]

DEMO_SEED: dict[str, Any] = {
    "clients": {"gaby-rmm": "ninja-demo-secret"},
    "token_lifespan": 3600,
    "script_seconds": 0.3,
    "organizations": [
        {"id": 1, "name": "Hartwell Law", "description": "Law firm, 14 seats"},
        {"id": 2, "name": "Dearborn CPA", "description": "Accountants, 9 seats"},
        {"id": 3, "name": "Lakeside Dental", "description": "Dental office, 6 seats"},
    ],
    "devices": [
        {
            "id": 101,
            "organizationId": 1,
            "systemName": "HWL-RECEPTION-01",
            "lastLoggedInUser": "HARTWELL\\maria.lopez",
            "services": {"Spooler": {"state": "STOPPED"}},  # crashed on a stuck job: nobody can print
            "print_jobs": 7,
        },
        {
            "id": 102,
            "organizationId": 1,
            "systemName": "HWL-PARTNER-02",
            "lastLoggedInUser": "HARTWELL\\sam.hartwell",
            "volumes": [{"name": "C:", "capacity": 256 * GB, "freeSpace": int(4.1 * GB)}],  # full disk
        },
        {
            "id": 103,
            "organizationId": 1,
            "systemName": "HWL-LAPTOP-07",
            "lastLoggedInUser": "HARTWELL\\jane.doe",
            "offline": True,
            "lastContact": ago(60 * 26),
        },
        {
            "id": 104,
            "organizationId": 1,
            "systemName": "HWL-FS-01",
            "nodeClass": "WINDOWS_SERVER",
            "os": "Windows Server 2022 Standard",
            "lastLoggedInUser": "HARTWELL\\administrator",
        },
        {
            "id": 201,
            "organizationId": 2,
            "systemName": "DCPA-FRONT-01",
            "lastLoggedInUser": "DEARBORN\\tom.baker",
        },
        {
            "id": 202,
            "organizationId": 2,
            "systemName": "DCPA-TAX-03",
            "lastLoggedInUser": "DEARBORN\\lee.chen",
            "volumes": [{"name": "C:", "capacity": 512 * GB, "freeSpace": int(9.8 * GB)}],
        },
        {
            "id": 301,
            "organizationId": 3,
            "systemName": "LSD-XRAY-01",
            "lastLoggedInUser": "LAKESIDE\\imaging",
            "offline": True,
            "lastContact": ago(60 * 24 * 6),
        },
    ],
    "alerts": [
        {
            "deviceId": 101,
            "sourceType": "CONDITION_WINDOWS_SERVICE",
            "sourceName": "Print Spooler stopped",
            "subject": "Windows service",
            "message": "Service 'Print Spooler' (Spooler) is not running.",
            "createTime": ago(35),
        },
        {
            "deviceId": 102,
            "sourceType": "CONDITION_DISK_FREE_SPACE",
            "sourceName": "Disk free space below 5%",
            "subject": "Disk space",
            "message": "Volume C: has 4.1 GB free (1.6%).",
            "createTime": ago(180),
        },
        {
            "deviceId": 103,
            "sourceType": "CONDITION_AGENT_OFFLINE",
            "sourceName": "Device offline",
            "subject": "Agent offline",
            "message": "HWL-LAPTOP-07 has not checked in for 26 hours.",
            "createTime": ago(60 * 24),
        },
        {
            "deviceId": 202,
            "sourceType": "CONDITION_DISK_FREE_SPACE",
            "sourceName": "Disk free space below 5%",
            "subject": "Disk space",
            "message": "Volume C: has 9.8 GB free (1.9%).",
            "createTime": ago(90),
        },
    ],
    "scripts": SCRIPTS,
}

WINDOWS_SERVICES = [
    ("Spooler", "Print Spooler", "Loads files to memory for later printing."),
    ("wuauserv", "Windows Update", "Detection, download and installation of updates."),
    ("W32Time", "Windows Time", "Maintains date and time synchronization."),
    ("Dnscache", "DNS Client", "Caches Domain Name System names."),
    ("NinjaRMMAgent", "NinjaRMMAgent", "The NinjaOne agent."),
]


def stable_uid(*parts: Any) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "ninjaone-sandbox:" + ":".join(str(part) for part in parts)))


def device_record(raw: dict[str, Any]) -> dict[str, Any]:
    """A seeded device with every field the stand-in serves, defaults filled in."""
    node_class = raw.get("nodeClass", "WINDOWS_WORKSTATION")
    services = {}
    for name, display, description in WINDOWS_SERVICES:
        override = raw.get("services", {}).get(name, {})
        services[name] = {
            "name": name,
            "displayName": display,
            "description": description,
            "startType": override.get("startType", "AUTO_START"),
            "userName": "LocalSystem",
            "state": override.get("state", "RUNNING"),
        }
    volumes = raw.get("volumes") or [{"name": "C:", "capacity": 256 * GB, "freeSpace": 121 * GB}]
    return {
        "id": int(raw["id"]),
        "organizationId": int(raw["organizationId"]),
        "locationId": int(raw.get("locationId", raw["organizationId"] * 10)),
        "nodeClass": node_class,
        "nodeRoleId": 1 if node_class == "WINDOWS_WORKSTATION" else 2,
        "approvalStatus": "APPROVED",
        "offline": bool(raw.get("offline", False)),
        "systemName": raw["systemName"],
        "displayName": raw.get("displayName", raw["systemName"]),
        "dnsName": raw.get("dnsName", raw["systemName"].lower() + ".corp.local"),
        "created": raw.get("created", ago(60 * 24 * 400)),
        "lastContact": raw.get("lastContact", ago(1)),
        "lastUpdate": raw.get("lastUpdate", ago(1)),
        "lastLoggedInUser": raw.get("lastLoggedInUser", ""),
        "os": raw.get("os", "Windows 11 Pro"),
        "manufacturer": raw.get("manufacturer", "Dell Inc."),
        "model": raw.get("model", "OptiPlex 7010"),
        "ipAddresses": raw.get("ipAddresses", ["10.0.0." + str(int(raw["id"]) % 250)]),
        "services": services,
        "volumes": [
            {
                "name": volume["name"],
                "driveLetter": volume["name"],
                "label": volume.get("label", "OS"),
                "deviceType": "Local Disk",
                "fileSystem": "NTFS",
                "capacity": int(volume["capacity"]),
                "freeSpace": int(volume["freeSpace"]),
            }
            for volume in volumes
        ],
        "print_jobs": int(raw.get("print_jobs", 0)),
    }


def device_summary(device: dict[str, Any]) -> dict[str, Any]:
    """``GET /v2/devices``: the basic device."""
    keys = (
        "id",
        "organizationId",
        "locationId",
        "nodeClass",
        "nodeRoleId",
        "approvalStatus",
        "offline",
        "systemName",
        "displayName",
        "dnsName",
        "created",
        "lastContact",
        "lastUpdate",
    )
    return {key: device[key] for key in keys}


def device_detailed(device: dict[str, Any]) -> dict[str, Any]:
    """``GET /v2/devices-detailed`` and ``GET /v2/device/{id}``: the device with its OS, system and last user."""
    return {
        **device_summary(device),
        "ipAddresses": list(device["ipAddresses"]),
        "lastLoggedInUser": device["lastLoggedInUser"],
        "os": {"name": device["os"], "architecture": "64-bit", "manufacturer": "Microsoft Corporation"},
        "system": {"manufacturer": device["manufacturer"], "model": device["model"], "name": device["systemName"]},
    }


def alert_record(raw: dict[str, Any], number: int) -> dict[str, Any]:
    uid = raw.get("uid") or stable_uid("alert", raw["deviceId"], number)
    return {
        "uid": uid,
        "deviceId": int(raw["deviceId"]),
        "message": raw.get("message", ""),
        "createTime": raw.get("createTime", ago(30)),
        "updateTime": raw.get("updateTime", raw.get("createTime", ago(30))),
        "sourceType": raw.get("sourceType", "CONDITION"),
        "sourceConfigUid": raw.get("sourceConfigUid") or stable_uid("condition", raw.get("sourceName", "")),
        "sourceName": raw.get("sourceName", ""),
        "subject": raw.get("subject", ""),
        "userId": 0,
        "psaTicketId": 0,
        "ticketTemplateId": 0,
        "data": {"message": {"code": raw.get("sourceType", "CONDITION"), "params": {}}},
    }


def script_record(raw: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "SCRIPT",
        "id": int(raw["id"]),
        "uid": raw.get("uid") or stable_uid("script", raw["id"]),
        "name": raw["name"],
        "language": raw.get("language", "powershell"),
        "description": raw.get("description", ""),
        "architecture": ["32", "64"],
        "categoryId": raw.get("categoryId", 3),
        "operatingSystems": ["Windows"],
        "effect": raw.get("effect", "echo"),
    }


def script_effect(effect: str, device: dict[str, Any], parameters: str) -> tuple[bool, str]:
    """What a library script does to the device, and the output it prints."""
    if effect == "disk_cleanup":
        volume = device["volumes"][0]
        freed = min(int(18.6 * GB), volume["capacity"] - volume["freeSpace"])
        volume["freeSpace"] += freed
        percent = 100 * volume["freeSpace"] / volume["capacity"]
        return True, (
            f"Removed temp files, the Windows Update cache and the recycle bin: freed {freed / GB:.1f} GB on "
            f"{volume['name']}. Free space now {volume['freeSpace'] / GB:.1f} GB ({percent:.1f}%). Exit code 0."
        )
    if effect == "clear_print_queue":
        jobs = device.get("print_jobs", 0)
        device["print_jobs"] = 0
        device["services"]["Spooler"]["state"] = "RUNNING"
        return (
            True,
            f"Stopped Spooler, deleted {jobs} stuck job file(s) from the spool folder, started Spooler. Exit 0.",
        )
    if effect == "network_info":
        target = parameters.strip() or "10.0.0.1"
        return True, f"IPv4 Address: {device['ipAddresses'][0]}\nPinging {target}: 4 sent, 4 received. Exit code 0."
    if effect == "fails":
        return False, "Remove-LocalGroupMember : Principal was not found. Exit code 1."
    return True, f"Ran with parameters {parameters!r}. Exit code 0."
