"""GDAP roles: which Entra ID roles each customer granted the MSP's partner tenant, read from
``tenantRelationships/delegatedAdminRelationships`` (``accessDetails.unifiedRoles``, role template ids), and which
of the roles the Microsoft 365 connector's tools need a relationship lacks — shown on the partner page so an MSP
fixes the relationship before a technician finds out mid-ticket."""

from __future__ import annotations

from typing import Any

# Entra ID built-in role template ids (the same in every tenant) → names, for the GDAP roles a customer granted.
ROLE_NAMES = {
    "62e90394-69f5-4237-9190-012177145e10": "Global Administrator",
    "f2ef992c-3afb-46b9-b7cf-a126ee74c451": "Global Reader",
    "88d8e3e3-8f55-4a1e-953a-9b9898b8876b": "Directory Readers",
    "fe930be7-5e62-47db-91af-98c3a49a38b1": "User Administrator",
    "c4e39bd9-1100-46d3-8c65-fb160da0071f": "Authentication Administrator",
    "7be44c8a-adaf-4e2a-84d6-ab2649e08a13": "Privileged Authentication Administrator",
    "3a2c62db-5318-420d-8d74-23affee5d9d5": "Intune Administrator",
    "fdd7a751-b60b-444a-984c-02652fe8fa1c": "Groups Administrator",
    "4d6ac14f-3453-41d0-bef9-a3e0c569773a": "License Administrator",
    "29232cdf-9323-42fd-ade2-1d097af3e4de": "Exchange Administrator",
    "729827e3-9c14-49f7-bb1b-9608f156bbb8": "Helpdesk Administrator",
    "5d6b6bb7-de71-4623-b4af-96380a352509": "Security Reader",
}
# What the connector's tools do in a customer tenant, and the GDAP role a technician needs there to do the same
# (password resets and sign-in, MFA methods, Intune devices). Global Administrator covers them all.
NEEDED_ROLES = {
    "User Administrator": "reset passwords, enable or disable accounts, end sessions",
    "Authentication Administrator": "list and reset MFA methods",
    "Intune Administrator": "sync, restart, retire or wipe managed devices",
}


def roles_by_tenant(relationships: list[Any]) -> dict[str, tuple[str, ...]]:
    """Each customer's role names over its active GDAP relationships (an unknown role id is shown as the id)."""
    roles: dict[str, set[str]] = {}
    for relationship in relationships:
        customer = getattr(relationship, "customer", None)
        tenant = str(getattr(customer, "tenant_id", "") or "").lower()
        status = getattr(relationship, "status", None)
        if not tenant or str(getattr(status, "value", status) or "").lower() != "active":
            continue
        details = getattr(relationship, "access_details", None)
        for role in getattr(details, "unified_roles", None) or []:
            key = str(role.role_definition_id or "").lower()
            roles.setdefault(tenant, set()).add(ROLE_NAMES.get(key, key))
    return {tenant: tuple(sorted(names)) for tenant, names in roles.items()}
