"""The Microsoft Graph stand-in's directory: customer tenants, each with its own users, domains, groups, licences,
authentication methods, risk state, Intune devices and the app registrations consented in it.

One ``Tenant`` per customer, as in Entra ID: a token is issued for one tenant and reads only that tenant's
objects. An app (client id) may be consented in several tenants — a multi-tenant app, as a partner's (GDAP)
app is — each consent with its own secret and application permissions (``roles`` in the token).

A partner (GDAP) tenant lists its ``customers`` (tenant ids); its app is consented in each customer with
``{"home": "<partner tenant id>"}`` instead of a secret (sandbox/msgraph_partner.py).

Seed shape (every key but ``tenants`` optional; see ``DEMO_SEED``)::

    {"tenants": [{"id": "<guid>", "name": "Hartwell Law", "domains": ["hartwelllaw.com"],
                  "apps": {"<client id>": {"secret": "...", "roles": ["User.Read.All", ...]}},   # roles: all
                  "skus": [{"skuPartNumber": "O365_BUSINESS_PREMIUM", "units": 10}],
                  "sspr": "all", "ssprMethodsRequired": 1,   # self-service password reset: "none", "all", a group
                  "groups": [{"displayName": "Partners", "mail": "partners@hartwelllaw.com",
                              "mailEnabled": True, "securityEnabled": False}],
                  "users": [{"userPrincipalName": "jane@hartwelllaw.com", "displayName": "Jane Doe",
                             "accountEnabled": True, "usageLocation": "US", "licenses": ["O365_BUSINESS_PREMIUM"],
                             "groups": ["Partners"], "lastSignIn": "2026-11-30T08:12:00Z",
                             "risk": {"riskLevel": "high", "riskState": "atRisk"},
                             "methods": [{"type": "microsoftAuthenticator", "displayName": "iPhone 13"}]}],
                  "devices": [{"deviceName": "HL-LT-014", "user": "jane@hartwelllaw.com",
                               "operatingSystem": "Windows", "complianceState": "compliant"}]}]}
"""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass, field
from typing import Any

# Every application permission a route of the stand-in checks; an app seeded without "roles" holds them all.
ALL_ROLES = (
    "User.Read.All",
    "AuditLog.Read.All",
    "User.EnableDisableAccount.All",
    "User-PasswordProfile.ReadWrite.All",
    "User.RevokeSessions.All",
    "UserAuthenticationMethod.Read.All",
    "UserAuthenticationMethod.ReadWrite.All",
    "IdentityRiskyUser.Read.All",
    "LicenseAssignment.Read.All",
    "LicenseAssignment.ReadWrite.All",
    "GroupMember.Read.All",
    "GroupMember.ReadWrite.All",
    "DeviceManagementManagedDevices.Read.All",
    "DeviceManagementManagedDevices.PrivilegedOperations.All",
    "Domain.Read.All",
    "DelegatedAdminRelationship.Read.All",  # a partner tenant lists its GDAP customers (sandbox/msgraph_partner.py)
    "Directory.Read.All",  # ... and its contracts (each customer's default domain)
)

# Well-known SKUs (Microsoft's product names and GUIDs), so seeds name licences the way admins see them.
SKU_IDS = {
    "O365_BUSINESS_PREMIUM": "f245ecc8-75af-4f8e-b61f-27d8114de5f3",  # Microsoft 365 Business Standard
    "SPB": "cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46",  # Microsoft 365 Business Premium
    "O365_BUSINESS_ESSENTIALS": "3b555118-da6a-4418-894f-7df1e2096870",  # Microsoft 365 Business Basic
    "EXCHANGESTANDARD": "4b9405b0-7788-4568-add1-99614e613b69",  # Exchange Online (Plan 1)
    "ENTERPRISEPACK": "6fd2c87f-b296-42f0-b197-1e91e994b900",  # Office 365 E3
    "AAD_PREMIUM": "078d2b04-f1bd-4111-bbd4-b4b1b354cef4",  # Microsoft Entra ID P1
}
SERVICE_PLANS = {  # a few service plans per SKU: enough for "is Office (the apps) in this licence?"
    "O365_BUSINESS_PREMIUM": [("EXCHANGE_S_STANDARD", "Exchange"), ("OFFICE_BUSINESS", "Microsoft 365 Apps")],
    "SPB": [
        ("EXCHANGE_S_STANDARD", "Exchange"),
        ("OFFICE_BUSINESS", "Microsoft 365 Apps"),
        ("INTUNE_A", "Intune"),
        ("AAD_PREMIUM", "Entra ID P1"),
    ],
    "O365_BUSINESS_ESSENTIALS": [("EXCHANGE_S_STANDARD", "Exchange"), ("SHAREPOINTSTANDARD", "SharePoint")],
    "EXCHANGESTANDARD": [("EXCHANGE_S_STANDARD", "Exchange")],
    "ENTERPRISEPACK": [("EXCHANGE_S_ENTERPRISE", "Exchange"), ("OFFICESUBSCRIPTION", "Microsoft 365 Apps")],
    "AAD_PREMIUM": [("AAD_PREMIUM", "Entra ID P1")],
}
# Entra ID's reports (sign-in logs, user registration details) answer only tenants with an Entra ID P1 plan.
PREMIUM_PLAN = "AAD_PREMIUM"
# Authentication method kinds: the OData type and the typed collection that deletes one (v1.0 has no generic
# DELETE on /authentication/methods/{id}).
METHOD_KINDS = {
    "password": ("#microsoft.graph.passwordAuthenticationMethod", None),
    "microsoftAuthenticator": (
        "#microsoft.graph.microsoftAuthenticatorAuthenticationMethod",
        "microsoftAuthenticatorMethods",
    ),
    "phone": ("#microsoft.graph.phoneAuthenticationMethod", "phoneMethods"),
    "fido2": ("#microsoft.graph.fido2AuthenticationMethod", "fido2Methods"),
    "softwareOath": ("#microsoft.graph.softwareOathAuthenticationMethod", "softwareOathMethods"),
    "email": ("#microsoft.graph.emailAuthenticationMethod", "emailMethods"),
    "windowsHelloForBusiness": (
        "#microsoft.graph.windowsHelloForBusinessAuthenticationMethod",
        "windowsHelloForBusinessMethods",
    ),
}
PASSWORD_METHOD_ID = "28c10230-6103-485e-b985-444c60001490"  # the same for every user, as in Entra ID


def _id(*parts: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "msgraph-sandbox:" + ":".join(parts)))


@dataclass
class AppConsent:
    client_id: str
    secret: str
    roles: tuple[str, ...]
    # A multi-tenant app consented here but registered in another tenant (a partner's): its one secret lives in
    # that home tenant's registration, as in Entra ID, so rotating it there changes it for every customer.
    home: str = ""


@dataclass
class Tenant:
    id: str
    name: str
    domains: list[dict[str, Any]]
    apps: dict[str, AppConsent]
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    skus: dict[str, dict[str, Any]] = field(default_factory=dict)  # by skuId
    devices: dict[str, dict[str, Any]] = field(default_factory=dict)
    customers: list[str] = field(default_factory=list)  # a partner tenant's GDAP customers (tenant ids)
    # A partner tenant's GDAP roles per customer (tenant id → Entra role template ids of its active relationship);
    # a customer missing here is granted sandbox/msgraph_partner.py's DEFAULT_GDAP_ROLES.
    gdap_roles: dict[str, list[str]] = field(default_factory=dict)
    # Self-service password reset: who the tenant's policy enables it for ("none", Entra's default for users;
    # "all"; or a group's display name) and how many registered methods a reset asks for (1 or 2).
    sspr: str = "none"
    sspr_methods_required: int = 1

    def user(self, key: str) -> dict[str, Any] | None:
        """By id or userPrincipalName (case-insensitive), as /users/{id | userPrincipalName} accepts."""
        if key in self.users:
            return self.users[key]
        lowered = key.lower()
        return next((u for u in self.users.values() if u["userPrincipalName"].lower() == lowered), None)

    def group_named(self, name: str) -> dict[str, Any]:
        return next(g for g in self.groups.values() if g["displayName"] == name)

    def sku_named(self, part_number: str) -> dict[str, Any]:
        return next(s for s in self.skus.values() if s["skuPartNumber"] == part_number)

    def consumed(self, sku_id: str) -> int:
        return sum(1 for user in self.users.values() if any(a["skuId"] == sku_id for a in user["assignedLicenses"]))

    def premium(self) -> bool:
        """Whether a subscription of the tenant carries Entra ID P1 (its reports answer only then)."""
        return any(
            PREMIUM_PLAN in (plan for plan, _ in SERVICE_PLANS.get(sku["skuPartNumber"], []))
            for sku in self.skus.values()
        )

    def sspr_enabled_for(self, user: dict[str, Any]) -> bool:
        if self.sspr in ("none", ""):
            return False
        if self.sspr == "all":
            return True
        return user["id"] in self.group_named(self.sspr)["members"]

    def owns_domain(self, name: str) -> bool:
        return any(domain["id"].lower() == name.lower() for domain in self.domains)


def build_tenant(raw: dict[str, Any]) -> Tenant:
    raw = copy.deepcopy(raw)
    tenant_id = raw.get("id") or _id("tenant", raw["name"])
    domain_names = raw.get("domains") or [f"{raw['name'].lower().replace(' ', '')}.onmicrosoft.com"]
    domains = [
        {
            "id": name,
            "authenticationType": "Managed",
            "isDefault": number == 0,
            "isInitial": name.endswith(".onmicrosoft.com"),
            "isVerified": True,
            "isAdminManaged": True,
            "isRoot": True,
            "supportedServices": ["Email", "OfficeCommunicationsOnline"],
        }
        for number, name in enumerate(domain_names)
    ]
    apps = {
        client_id: AppConsent(
            client_id, str(app.get("secret", "")), tuple(app.get("roles") or ALL_ROLES), str(app.get("home", ""))
        )
        for client_id, app in raw.get("apps", {}).items()
    }
    tenant = Tenant(
        id=tenant_id,
        name=raw["name"],
        domains=domains,
        apps=apps,
        customers=raw.get("customers", []),
        gdap_roles={str(k): list(v) for k, v in (raw.get("gdap_roles") or {}).items()},
        sspr=str(raw.get("sspr", "none")),
        sspr_methods_required=int(raw.get("ssprMethodsRequired", 1)),
    )
    for sku in raw.get("skus", []):
        part = sku["skuPartNumber"]
        sku_id = sku.get("skuId") or SKU_IDS.get(part) or _id("sku", part)
        tenant.skus[sku_id] = {
            "skuId": sku_id,
            "skuPartNumber": part,
            "units": int(sku.get("units", 10)),
            "capabilityStatus": sku.get("capabilityStatus", "Enabled"),
        }
    for group in raw.get("groups", []):
        group_id = group.get("id") or _id(tenant_id, "group", group["displayName"])
        mail_enabled = bool(group.get("mailEnabled", False))
        tenant.groups[group_id] = {
            "id": group_id,
            "displayName": group["displayName"],
            "description": group.get("description"),
            "mail": group.get("mail"),
            "mailEnabled": mail_enabled,
            "mailNickname": group.get("mailNickname") or group["displayName"].lower().replace(" ", "-"),
            "securityEnabled": bool(group.get("securityEnabled", not mail_enabled)),
            "groupTypes": list(group.get("groupTypes", [])),
            "members": [],  # user ids
        }
    for user in raw.get("users", []):
        _add_user(tenant, user)
    for device in raw.get("devices", []):
        _add_device(tenant, device)
    return tenant


def _add_user(tenant: Tenant, raw: dict[str, Any]) -> None:
    upn = raw["userPrincipalName"]
    user_id = raw.get("id") or _id(tenant.id, "user", upn)
    given, _, surname = str(raw.get("displayName", upn.split("@")[0])).partition(" ")
    methods = [{"id": PASSWORD_METHOD_ID, "type": "password", "createdDateTime": raw.get("passwordSetAt")}]
    for number, method in enumerate(raw.get("methods", [])):
        methods.append({"id": method.get("id") or _id(user_id, "method", str(number)), **method})
    licenses = []
    for part in raw.get("licenses", []):
        sku = tenant.sku_named(part)
        licenses.append({"skuId": sku["skuId"], "disabledPlans": []})
    risk = raw.get("risk")
    tenant.users[user_id] = {
        "id": user_id,
        "userPrincipalName": upn,
        "displayName": raw.get("displayName", upn),
        "givenName": raw.get("givenName", given or None),
        "surname": raw.get("surname", surname or None),
        "mail": raw.get("mail", upn),
        "jobTitle": raw.get("jobTitle"),
        "mobilePhone": raw.get("mobilePhone"),
        "officeLocation": raw.get("officeLocation"),
        "businessPhones": list(raw.get("businessPhones", [])),
        "preferredLanguage": raw.get("preferredLanguage", "en-US"),
        "accountEnabled": bool(raw.get("accountEnabled", True)),
        "usageLocation": raw.get("usageLocation"),
        "createdDateTime": raw.get("createdDateTime", "2024-03-01T09:00:00Z"),
        "signInSessionsValidFromDateTime": raw.get("signInSessionsValidFromDateTime", "2024-03-01T09:00:00Z"),
        "signInActivity": {
            "lastSignInDateTime": raw.get("lastSignIn"),
            "lastSignInRequestId": _id(user_id, "signin") if raw.get("lastSignIn") else None,
            "lastNonInteractiveSignInDateTime": raw.get("lastNonInteractiveSignIn", raw.get("lastSignIn")),
            "lastNonInteractiveSignInRequestId": None,
            "lastSuccessfulSignInDateTime": raw.get("lastSuccessfulSignIn", raw.get("lastSignIn")),
            "lastSuccessfulSignInRequestId": None,
        },
        "passwordProfile": {"forceChangePasswordNextSignIn": False, "password": None},
        "assignedLicenses": licenses,
        "methods": methods,
        "risk": None
        if not risk
        else {
            "riskLevel": risk.get("riskLevel", "medium"),
            "riskState": risk.get("riskState", "atRisk"),
            "riskDetail": risk.get("riskDetail", "none"),
            "riskLastUpdatedDateTime": risk.get("riskLastUpdatedDateTime", "2026-12-01T07:40:00Z"),
        },
    }
    for name in raw.get("groups", []):
        tenant.group_named(name)["members"].append(user_id)


def _add_device(tenant: Tenant, raw: dict[str, Any]) -> None:
    user = tenant.user(raw["user"]) if raw.get("user") else None
    device_id = raw.get("id") or _id(tenant.id, "device", raw["deviceName"])
    tenant.devices[device_id] = {
        "id": device_id,
        "deviceName": raw["deviceName"],
        "userId": user["id"] if user else None,
        "userPrincipalName": user["userPrincipalName"] if user else None,
        "userDisplayName": user["displayName"] if user else None,
        "emailAddress": user["mail"] if user else None,
        "operatingSystem": raw.get("operatingSystem", "Windows"),
        "osVersion": raw.get("osVersion", "10.0.22631.4602"),
        "model": raw.get("model", "Latitude 5440"),
        "manufacturer": raw.get("manufacturer", "Dell Inc."),
        "serialNumber": raw.get("serialNumber", device_id[:10].upper()),
        "complianceState": raw.get("complianceState", "compliant"),
        "managementState": "managed",
        "managedDeviceOwnerType": raw.get("owner", "company"),
        "enrolledDateTime": raw.get("enrolledDateTime", "2025-01-15T10:00:00Z"),
        "lastSyncDateTime": raw.get("lastSyncDateTime", "2026-12-06T18:30:00Z"),
        "isEncrypted": bool(raw.get("isEncrypted", True)),
        "deviceEnrollmentType": raw.get("deviceEnrollmentType", "windowsAzureADJoin"),
        "azureADDeviceId": _id(device_id, "entra"),
    }


HARTWELL = "6b1c1e2a-3d4f-4a8b-9c0d-1e2f3a4b5c6d"
DEARBORN = "8d2e4f60-7a1b-4c3d-8e9f-0a1b2c3d4e5f"
DEMO_CLIENT_ID = "0f6e8c1a-2b3d-4e5f-8a9b-0c1d2e3f4a5b"  # the MSP's app registration (multi-tenant)

DEMO_SEED: dict[str, Any] = {
    "tenants": [
        {
            "id": HARTWELL,
            "name": "Hartwell Law",
            "sspr": "all",
            "domains": ["hartwelllaw.com", "hartwelllaw.onmicrosoft.com"],
            "apps": {DEMO_CLIENT_ID: {"secret": "hartwell-demo-secret"}},
            "skus": [
                {"skuPartNumber": "O365_BUSINESS_PREMIUM", "units": 5},
                {"skuPartNumber": "EXCHANGESTANDARD", "units": 3},
            ],
            "groups": [
                {
                    "displayName": "Partners",
                    "description": "Partners' shared mailbox and files (a Microsoft 365 group)",
                    "mail": "partners@hartwelllaw.com",
                    "mailEnabled": True,
                    "groupTypes": ["Unified"],
                },
                {"displayName": "All Staff", "mail": "allstaff@hartwelllaw.com", "mailEnabled": True},
                {"displayName": "Litigation", "securityEnabled": True},
            ],
            "users": [
                {
                    "userPrincipalName": "jane.doe@hartwelllaw.com",
                    "displayName": "Jane Doe",
                    "jobTitle": "Paralegal",
                    "usageLocation": "US",
                    "licenses": ["O365_BUSINESS_PREMIUM"],
                    "groups": ["Litigation"],
                    "lastSignIn": "2026-12-07T07:55:00Z",
                    "risk": {"riskLevel": "medium", "riskState": "atRisk", "riskDetail": "none"},
                    "methods": [
                        {
                            "type": "microsoftAuthenticator",
                            "displayName": "iPhone 12",
                            "deviceTag": "SoftwareTokenActivated",
                        },
                        {"type": "phone", "phoneNumber": "+1 2065550123", "phoneType": "mobile"},
                    ],
                },
                {
                    "userPrincipalName": "sam.ortiz@hartwelllaw.com",
                    "displayName": "Sam Ortiz",
                    "jobTitle": "Associate",
                    "usageLocation": "US",
                    "lastSignIn": "2026-12-06T16:20:00Z",
                    "methods": [{"type": "phone", "phoneNumber": "+1 2065550188", "phoneType": "mobile"}],
                },
                {
                    "userPrincipalName": "margaret.hartwell@hartwelllaw.com",
                    "displayName": "Margaret Hartwell",
                    "jobTitle": "Managing Partner",
                    "usageLocation": "US",
                    "licenses": ["O365_BUSINESS_PREMIUM"],
                    "groups": ["Partners"],
                    "lastSignIn": "2026-12-07T08:30:00Z",
                    "methods": [{"type": "fido2", "displayName": "YubiKey 5C", "model": "YubiKey 5C NFC"}],
                },
                {
                    "userPrincipalName": "former.clerk@hartwelllaw.com",
                    "displayName": "Former Clerk",
                    "accountEnabled": False,
                    "lastSignIn": "2026-06-30T17:00:00Z",
                },
            ],
            "devices": [
                {
                    "deviceName": "HL-LT-014",
                    "user": "jane.doe@hartwelllaw.com",
                    "lastSyncDateTime": "2026-11-29T09:12:00Z",
                },
                {
                    "deviceName": "Jane's iPhone",
                    "user": "jane.doe@hartwelllaw.com",
                    "operatingSystem": "iOS",
                    "osVersion": "18.1",
                    "model": "iPhone 12",
                    "manufacturer": "Apple",
                    "owner": "personal",
                    "deviceEnrollmentType": "userEnrollment",
                },
                {"deviceName": "HL-LT-002", "user": "margaret.hartwell@hartwelllaw.com"},
            ],
        },
        {
            "id": DEARBORN,
            "name": "Dearborn CPA",
            "sspr": "all",
            "domains": ["dearborncpa.com", "dearborncpa.onmicrosoft.com"],
            "apps": {DEMO_CLIENT_ID: {"secret": "dearborn-demo-secret"}},
            "skus": [{"skuPartNumber": "SPB", "units": 12}],
            "groups": [{"displayName": "Tax Season", "mail": "taxseason@dearborncpa.com", "mailEnabled": True}],
            "users": [
                {
                    "userPrincipalName": "priya.nair@dearborncpa.com",
                    "displayName": "Priya Nair",
                    "jobTitle": "Senior Accountant",
                    "usageLocation": "US",
                    "licenses": ["SPB"],
                    "lastSignIn": "2026-12-07T06:45:00Z",
                    "methods": [{"type": "microsoftAuthenticator", "displayName": "Pixel 8"}],
                },
                {
                    "userPrincipalName": "tom.becker@dearborncpa.com",
                    "displayName": "Tom Becker",
                    "usageLocation": "US",
                    "licenses": ["SPB"],
                    "lastSignIn": "2026-12-05T14:00:00Z",
                },
            ],
            "devices": [{"deviceName": "DCPA-DT-07", "user": "priya.nair@dearborncpa.com"}],
        },
    ]
}
