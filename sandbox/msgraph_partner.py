"""The partner side of the Graph stand-in: an MSP's own tenant listing the customers it administers through GDAP.

What Microsoft documents for a partner tenant, with application permissions:

- ``GET /v1.0/tenantRelationships/delegatedAdminCustomers`` (DelegatedAdminRelationship.Read.All or
  .ReadWrite.All): ``delegatedAdminCustomer`` objects, ``id`` = ``tenantId`` = the customer's tenant id, and its
  ``displayName``; OData paging (``$top``, ``@odata.nextLink``).
- ``GET /v1.0/contracts`` (Directory.Read.All or .ReadWrite.All): one ``contract`` per customer, ``customerId``
  (the tenant id), ``defaultDomainName`` and ``displayName`` — copies made when the partnership was established.

- ``GET /v1.0/tenantRelationships/delegatedAdminRelationships`` (DelegatedAdminRelationship.Read.All):
  ``delegatedAdminRelationship`` objects, one per customer here: ``customer`` {tenantId, displayName}, ``status``,
  ``duration``, ``accessDetails.unifiedRoles`` (``roleDefinitionId``: the Entra built-in role template ids the
  customer granted the partner), OData paging. The seed's ``gdap_roles`` narrows a customer's roles.

A tenant that is not a partner answers an empty list for each. The partner's app registration is multi-tenant:
``with_partner`` consents it in each customer with ``{"home": <partner tenant>}`` (its one secret is the home
registration's; sandbox/msgraph.py checks it there), so one client id and secret get a token in every customer.
"""

from __future__ import annotations

import copy
import re
from typing import TYPE_CHECKING, Any

from sandbox import msgraph_odata as odata
from sandbox.base import Request, Response
from sandbox.msgraph_data import DEARBORN, HARTWELL, Tenant, _id
from sandbox.msgraph_routes import on

if TYPE_CHECKING:
    from sandbox.msgraph import GraphSandbox

BLUE_MESA = "3c5a7e90-1b2d-4f6a-8c0e-2a4b6c8d0e1f"  # the MSP's own (partner) tenant
QUILLFIELD = "a1c3e5f7-9b0d-4e2f-8a1c-3e5f7a9b0d2e"  # a customer no Gaby client matches
PARTNER_APP_ID = "5e7a9c1b-3d5f-4a7b-9c1d-3e5f7a9b1c2d"  # Blue Mesa's multi-tenant app registration
PARTNER_SECRET = "bluemesa-partner-demo-secret"
PARTNER_ROLES = ["DelegatedAdminRelationship.Read.All", "Directory.Read.All"]

# Entra ID built-in role template ids (the same in every tenant), as GDAP's accessDetails.unifiedRoles name them.
USER_ADMINISTRATOR = "fe930be7-5e62-47db-91af-98c3a49a38b1"
AUTHENTICATION_ADMINISTRATOR = "c4e39bd9-1100-46d3-8c65-fb160da0071f"
INTUNE_ADMINISTRATOR = "3a2c62db-5318-420d-8d74-23affee5d9d5"
GROUPS_ADMINISTRATOR = "fdd7a751-b60b-444a-984c-02652fe8fa1c"
LICENSE_ADMINISTRATOR = "4d6ac14f-3453-41d0-bef9-a3e0c569773a"
GLOBAL_READER = "f2ef992c-3afb-46b9-b7cf-a126ee74c451"
DEFAULT_GDAP_ROLES = [
    GLOBAL_READER,
    USER_ADMINISTRATOR,
    AUTHENTICATION_ADMINISTRATOR,
    INTUNE_ADMINISTRATOR,
    GROUPS_ADMINISTRATOR,
    LICENSE_ADMINISTRATOR,
]

PARTNER_TENANT: dict[str, Any] = {
    "id": BLUE_MESA,
    "name": "Blue Mesa IT",
    "domains": ["bluemesa.example", "bluemesait.onmicrosoft.com"],
    "apps": {PARTNER_APP_ID: {"secret": PARTNER_SECRET, "roles": PARTNER_ROLES}},
    "customers": [HARTWELL, DEARBORN, QUILLFIELD],
    # Dearborn's relationship was set up before devices were managed: it lacks Intune Administrator.
    "gdap_roles": {DEARBORN: [r for r in DEFAULT_GDAP_ROLES if r != INTUNE_ADMINISTRATOR]},
}
UNMATCHED_CUSTOMER: dict[str, Any] = {
    "id": QUILLFIELD,
    "name": "Quillfield Dental",
    "domains": ["quillfielddental.com", "quillfielddental.onmicrosoft.com"],
    "skus": [{"skuPartNumber": "O365_BUSINESS_ESSENTIALS", "units": 4}],
    "users": [
        {"userPrincipalName": "dr.quill@quillfielddental.com", "displayName": "Ada Quill", "usageLocation": "US"}
    ],
}


def with_partner(seed: dict[str, Any]) -> dict[str, Any]:
    """``seed`` plus the partner tenant and its unmatched customer, the partner's app consented in each customer."""
    seed = copy.deepcopy(seed)
    tenants = seed.setdefault("tenants", [])
    known = {raw.get("id") for raw in tenants}
    tenants += [copy.deepcopy(raw) for raw in (PARTNER_TENANT, UNMATCHED_CUSTOMER) if raw["id"] not in known]
    for raw in tenants:
        if raw.get("id") in PARTNER_TENANT["customers"]:
            raw.setdefault("apps", {})[PARTNER_APP_ID] = {"home": BLUE_MESA}
    return seed


def partner_connection(graph: GraphSandbox) -> dict[str, str]:
    """What the MSP enters to connect as this stand-in's partner (Gaby's partner form or ``--config``)."""
    return {
        "tenant_id": BLUE_MESA,
        "client_id": PARTNER_APP_ID,
        "client_secret": PARTNER_SECRET,
        "authority": graph.base_url,
        "graph_url": graph.base_url,
        "ca_file": graph.ca_file,
    }


def _customers(sandbox: GraphSandbox, tenant: Tenant) -> list[Tenant]:
    """The partner's customers that exist (a relationship to a deleted tenant is not listed), in a stable order."""
    found = [sandbox.tenants[key] for key in tenant.customers if key in sandbox.tenants]
    return sorted(found, key=lambda customer: customer.name.lower())


def _default_domain(customer: Tenant) -> str:
    return next((d["id"] for d in customer.domains if d["isDefault"]), customer.domains[0]["id"])


@on(
    "GET",
    r"/tenantRelationships/delegatedAdminCustomers",
    "DelegatedAdminRelationship.Read.All",
    "DelegatedAdminRelationship.ReadWrite.All",
)
def delegated_admin_customers(
    sandbox: GraphSandbox, tenant: Tenant, request: Request, match: re.Match[str]
) -> Response:
    def shape(customer: dict[str, Any]) -> dict[str, Any]:
        return {"@odata.type": "#microsoft.graph.delegatedAdminCustomer", **customer}

    rows = [{"id": c.id, "tenantId": c.id, "displayName": c.name} for c in _customers(sandbox, tenant)]
    return odata.page(
        request, rows, base=sandbox.graph_url, context="tenantRelationships/delegatedAdminCustomers", shape=shape
    )


@on("GET", r"/contracts", "Directory.Read.All", "Directory.ReadWrite.All")
def contracts(sandbox: GraphSandbox, tenant: Tenant, request: Request, match: re.Match[str]) -> Response:
    rows = [
        {
            "id": _id(tenant.id, "contract", customer.id),
            "deletedDateTime": None,
            "contractType": "ResellerPartner",
            "customerId": customer.id,
            "defaultDomainName": _default_domain(customer),
            "displayName": customer.name,
        }
        for customer in _customers(sandbox, tenant)
    ]
    return odata.page(request, rows, base=sandbox.graph_url, context="contracts", shape=lambda row: row)


@on(
    "GET",
    r"/tenantRelationships/delegatedAdminRelationships",
    "DelegatedAdminRelationship.Read.All",
    "DelegatedAdminRelationship.ReadWrite.All",
)
def delegated_admin_relationships(
    sandbox: GraphSandbox, tenant: Tenant, request: Request, match: re.Match[str]
) -> Response:
    def shape(row: dict[str, Any]) -> dict[str, Any]:
        return {"@odata.type": "#microsoft.graph.delegatedAdminRelationship", **row}

    rows = [
        {
            "id": _id(tenant.id, "gdap", customer.id),
            "displayName": f"{tenant.name} support for {customer.name}"[:50],
            "duration": "P730D",
            "status": "active",
            "autoExtendDuration": "P180D",
            "createdDateTime": "2026-01-05T09:00:00Z",
            "activatedDateTime": "2026-01-06T10:30:00Z",
            "lastModifiedDateTime": "2026-01-06T10:30:00Z",
            "endDateTime": "2028-01-06T10:30:00Z",
            "customer": {"tenantId": customer.id, "displayName": customer.name},
            "accessDetails": {
                "unifiedRoles": [
                    {"roleDefinitionId": role} for role in tenant.gdap_roles.get(customer.id, DEFAULT_GDAP_ROLES)
                ]
            },
        }
        for customer in _customers(sandbox, tenant)
    ]
    return odata.page(
        request, rows, base=sandbox.graph_url, context="tenantRelationships/delegatedAdminRelationships", shape=shape
    )
