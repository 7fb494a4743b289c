"""The PSAs bench/time_writeback.py can write to: each one's stand-in seed, source, rule ids, floor and notes.

``--psa halopsa`` (the default) writes Halo actions; ``--psa autotask`` writes Autotask time entries. The floor of
each is the same number of bare httpx POSTs of that PSA's write (``POST /api/Actions``, ``POST /TimeEntries``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

START = datetime(2026, 11, 16, 9, tzinfo=UTC)


def _when(minutes: int) -> str:
    return (START + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- HaloPSA -------------------------------------------------------------------------------------
def halo_seed(clients: int, tickets: int) -> dict[str, Any]:
    rows = [
        {
            "id": 50_000 + c * tickets + t,
            "summary": f"Time bench ticket {c}-{t}",
            "details": "The scanner on the second floor is offline.",
            "client_id": 500 + c,
            "user_id": 5000 + c,
            "status_id": 2,
            "priority_id": 3,
            "agent_id": 0,
            "dateoccurred": "2026-11-16T09:00:00Z",
            "last_update": _when(t),
            "actions": [],
        }
        for c in range(clients)
        for t in range(tickets)
    ]
    return {
        "tenant": "timebench",
        "applications": {"gaby-bench": "bench-secret"},
        "clients": [{"id": 500 + c, "name": f"Time Bench Company {c}", "inactive": False} for c in range(clients)],
        "users": [
            {"id": 5000 + c, "name": f"User {c}", "emailaddress": f"u@c{c}.timebench.example", "client_id": 500 + c}
            for c in range(clients)
        ],
        "agents": [{"id": 1, "name": "Gaby (API)", "email": "gaby@timebench.example"}],
        "tickets": rows,
    }


def halo_floor(url: str, ticket_ids: list[int], count: int) -> None:
    import httpx

    with httpx.Client(base_url=url, timeout=30) as http:
        form = {"grant_type": "client_credentials", "client_id": "gaby-bench", "client_secret": "bench-secret"}
        token = http.post("/auth/token", data={**form, "scope": "all"}).json()["access_token"]
        http.headers["Authorization"] = f"Bearer {token}"
        for n in range(count):
            action = {
                "ticket_id": ticket_ids[n % len(ticket_ids)],
                "note": f"floor {n}",
                "outcome": "Private Note",
                "hiddenfromuser": True,
                "timetaken": 0.1,
                "timetakenadjusted": 0.1,
                "nonbilltime": 0,
            }
            response = http.post("/api/Actions", json=[action])
            assert response.status_code == 201, response.text


# --- Autotask ------------------------------------------------------------------------------------
AT_HEADERS = {"ApiIntegrationCode": "GABYBENCH", "UserName": "gaby-bench@timebench.example", "Secret": "bench-secret"}
AT_RESOURCE, AT_ROLE, AT_WORK_TYPE = 29682885, 29682833, 29682801


def autotask_seed(clients: int, tickets: int) -> dict[str, Any]:
    rows = [
        {
            "id": 50_000 + c * tickets + t,
            "ticketNumber": f"T20261116.{c * tickets + t:04d}",
            "title": f"Time bench ticket {c}-{t}",
            "description": "The scanner on the second floor is offline.",
            "companyID": 500 + c,
            "contactID": 5000 + c,
            "status": 1,
            "priority": 2,
            "assignedResourceID": None,
            "createDate": "2026-11-16T09:00:00.000Z",
            "lastActivityDate": _when(t),
        }
        for c in range(clients)
        for t in range(tickets)
    ]
    return {
        "zone": "zone2",
        "integration_codes": [AT_HEADERS["ApiIntegrationCode"]],
        "api_users": {AT_HEADERS["UserName"]: AT_HEADERS["Secret"]},
        "companies": [
            {"id": 500 + c, "companyName": f"Time Bench Company {c}", "isActive": True, "companyType": 1}
            for c in range(clients)
        ],
        "contacts": [
            {
                "id": 5000 + c,
                "companyID": 500 + c,
                "firstName": "User",
                "lastName": str(c),
                "emailAddress": f"u@c{c}.timebench.example",
            }
            for c in range(clients)
        ],
        "resources": [
            {
                "id": AT_RESOURCE,
                "firstName": "Gaby",
                "lastName": "API",
                "email": "gaby@timebench.example",
                "userName": AT_HEADERS["UserName"],
                "isActive": True,
                "defaultServiceDeskRoleID": AT_ROLE,
            }
        ],
        "tickets": rows,
    }


def autotask_floor(url: str, ticket_ids: list[int], count: int) -> None:
    import httpx

    with httpx.Client(timeout=30, headers=AT_HEADERS) as http:
        zone = http.get(f"{url}/atservicesrest/v1.0/zoneInformation", params={"user": AT_HEADERS["UserName"]})
        root = zone.json()["url"] + "v1.0"
        for n in range(count):
            entry = {
                "ticketID": ticket_ids[n % len(ticket_ids)],
                "resourceID": AT_RESOURCE,
                "roleID": AT_ROLE,
                "billingCodeID": AT_WORK_TYPE,
                "dateWorked": "2026-11-16T00:00:00Z",
                "hoursWorked": 0.1,
                "summaryNotes": f"floor {n}",
            }
            response = http.post(f"{root}/TimeEntries", json=entry)
            assert response.status_code == 200, response.text


@dataclass(frozen=True)
class Psa:
    kind: str
    label: str
    write: str  # what one write is, for the printout
    seed: Callable[[int, int], dict[str, Any]]
    sandbox: Callable[[dict[str, Any]], Any]
    config: Callable[[Any, int], dict[str, Any]]  # the source of client number c
    rule: Callable[[int], dict[str, str]]  # the billing rule's ids for client number c
    floor: Callable[[str, list[int], int], None]
    notes: Callable[[Any], Iterable[str]]  # every written note (action note, time entry summary)


def _halo_sandbox(seed: dict[str, Any]) -> Any:
    from sandbox.halopsa import HaloPSASandbox

    return HaloPSASandbox(seed)


def _autotask_sandbox(seed: dict[str, Any]) -> Any:
    from sandbox.autotask import AutotaskSandbox

    return AutotaskSandbox(seed)


PSAS = {
    "halopsa": Psa(
        kind="halopsa",
        label="Halo",
        write="POST /api/Actions",
        seed=halo_seed,
        sandbox=_halo_sandbox,
        config=lambda halo, c: {
            "base_url": halo.base_url,
            "tenant": "timebench",
            "client_id": "gaby-bench",
            "client_secret": "bench-secret",
            "halo_client_id": str(500 + c),
        },
        rule=lambda c: {"work_type": "3", "agreement_id": str(900 + c), "member_id": "1"},
        floor=halo_floor,
        notes=lambda halo: (str(a["note"]) for a in halo.actions.values()),
    ),
    "autotask": Psa(
        kind="autotask",
        label="Autotask",
        write="POST /TimeEntries",
        seed=autotask_seed,
        sandbox=_autotask_sandbox,
        config=lambda at, c: {
            "webservices_url": at.base_url,
            "username": AT_HEADERS["UserName"],
            "secret": AT_HEADERS["Secret"],
            "integration_code": AT_HEADERS["ApiIntegrationCode"],
            "at_company_id": str(500 + c),
        },
        rule=lambda c: {"work_type": str(AT_WORK_TYPE), "agreement_id": "", "member_id": ""},  # the API user
        floor=autotask_floor,
        notes=lambda at: (str(e["summaryNotes"]) for e in at.time_entries.values()),
    ),
}
