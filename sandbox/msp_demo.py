"""The MSP demo's world (``./gaby run``): Hartwell Law and Dearborn CPA as Microsoft 365 and NinjaOne know them.

Built on the stand-ins' own seeds (``sandbox.msgraph_data.DEMO_SEED``, ``sandbox.ninjaone_data.DEMO_SEED``, which
their tests pin), changed only where the two directories disagree about who works where, so that every person
the demo mentions exists in the places a playbook looks for them:

- Hartwell's receptionist Maria Lopez signs in to HWL-RECEPTION-01 (NinjaOne) but had no Microsoft 365 account:
  she gets one (Exchange Online only, as front-desk seats often are).
- HWL-PARTNER-02 is a partner's computer; NinjaOne named a "sam.hartwell" Entra ID does not know, so it is
  Margaret Hartwell's (the managing partner).
- Dearborn's front desk PC named "tom.baker" where Entra ID has Tom Becker: it is Tom Becker's.
- Dearborn's tax workstation is Lee Chen's, who gets a Microsoft 365 account (Business Premium, like the others).

The demo's tickets (``tenants/demo_examples.py``) come from these people, and the demo seeding maps the Gaby
clients onto the tenants and organizations here (``DEMO_TENANTS``). Nothing here imports Django.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from sandbox import msgraph_data, ninjaone_data

NINJA_CLIENT_ID = "gaby-rmm"  # the MSP's NinjaOne API client app (client credentials)
GRAPH_CLIENT_ID = msgraph_data.DEMO_CLIENT_ID  # the MSP's multi-tenant app registration


@dataclass(frozen=True)
class DemoTenant:
    """One demo client as the vendors know it: its Entra ID tenant and its NinjaOne organization."""

    slug: str  # the Gaby client
    tenant_id: str
    domain: str  # the tenant's default verified domain (its people's sign-in names)
    organization: int  # NinjaOne organization id


DEMO_TENANTS = {
    "hartwell": DemoTenant("hartwell", msgraph_data.HARTWELL, "hartwelllaw.com", 1),
    "dearborn": DemoTenant("dearborn", msgraph_data.DEARBORN, "dearborncpa.com", 2),
}

# Entra ID users the demo adds to the stand-in's tenants (see the module docstring for why).
_GRAPH_USERS: dict[str, list[dict[str, Any]]] = {
    msgraph_data.HARTWELL: [
        {
            "userPrincipalName": "maria.lopez@hartwelllaw.com",
            "displayName": "Maria Lopez",
            "jobTitle": "Receptionist",
            "usageLocation": "US",
            "licenses": ["EXCHANGESTANDARD"],
            "lastSignIn": "2026-12-07T08:02:00Z",
            "methods": [{"type": "phone", "phoneNumber": "+1 2065550140", "phoneType": "mobile"}],
        }
    ],
    msgraph_data.DEARBORN: [
        {
            "userPrincipalName": "lee.chen@dearborncpa.com",
            "displayName": "Lee Chen",
            "jobTitle": "Tax Associate",
            "usageLocation": "US",
            "licenses": ["SPB"],
            "lastSignIn": "2026-12-07T07:20:00Z",
            "methods": [{"type": "microsoftAuthenticator", "displayName": "iPhone 15"}],
        }
    ],
}
# NinjaOne device id -> the Windows user last signed in to it, where the stand-in's seed names someone else.
_NINJA_USERS = {102: "HARTWELL\\margaret.hartwell", 201: "DEARBORN\\tom.becker"}


def graph_seed() -> dict[str, Any]:
    """The Graph stand-in's seed for the demo: DEMO_SEED plus the people it lacks."""
    seed = copy.deepcopy(msgraph_data.DEMO_SEED)
    for tenant in seed["tenants"]:
        tenant["users"].extend(copy.deepcopy(_GRAPH_USERS.get(tenant["id"], [])))
    return seed


def ninjaone_seed() -> dict[str, Any]:
    """The NinjaOne stand-in's seed for the demo: DEMO_SEED with each computer's last user known to Entra ID."""
    seed = copy.deepcopy(ninjaone_data.DEMO_SEED)
    for device in seed["devices"]:
        if device["id"] in _NINJA_USERS:
            device["lastLoggedInUser"] = _NINJA_USERS[device["id"]]
    return seed


def graph_secret(slug: str) -> str:
    """The client secret the MSP's app holds in this client's tenant (as consented in the stand-in's seed)."""
    tenant_id = DEMO_TENANTS[slug].tenant_id
    tenant = next(t for t in msgraph_data.DEMO_SEED["tenants"] if t["id"] == tenant_id)
    return str(tenant["apps"][GRAPH_CLIENT_ID]["secret"])


def ninjaone_secret() -> str:
    return str(ninjaone_data.DEMO_SEED["clients"][NINJA_CLIENT_ID])


@dataclass(frozen=True)
class Person:
    name: str
    email: str
    job_title: str


def people(slug: str) -> list[Person]:
    """The client's staff with an enabled Microsoft 365 account: who may write to its support mailbox."""
    tenant_id = DEMO_TENANTS[slug].tenant_id
    tenant = next(t for t in graph_seed()["tenants"] if t["id"] == tenant_id)
    return [
        Person(user["displayName"], user["userPrincipalName"], user.get("jobTitle") or "")
        for user in tenant["users"]
        if user.get("accountEnabled", True)
    ]


def windows_users(organization: int) -> dict[str, str]:
    """NinjaOne's view of an organization: computer name -> the Windows account last signed in (domain stripped)."""
    return {
        device["systemName"]: device["lastLoggedInUser"].rpartition("\\")[2].lower()
        for device in ninjaone_seed()["devices"]
        if device["organizationId"] == organization
        and device.get("nodeClass", "WINDOWS_WORKSTATION") != "WINDOWS_SERVER"
    }
