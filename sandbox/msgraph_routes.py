"""The Graph v1.0 resources of the stand-in, each behind the application permission Microsoft documents for it.

Users (default properties unless ``$select``; ``signInActivity`` only when selected, with AuditLog.Read.All),
PATCH ``accountEnabled`` / ``passwordProfile``, ``revokeSignInSessions``, authentication methods (list; delete
through the typed collections), ``identityProtection/riskyUsers``, ``subscribedSkus``, ``assignLicense``,
``licenseDetails``, ``memberOf``, groups and ``members/$ref`` (add, remove; mail-enabled security groups and
distribution lists refuse, as Graph does: they are managed in Exchange), Intune ``managedDevices`` with
``syncDevice``, ``rebootNow``, ``retire`` and ``wipe``, ``domains``, and the user registration details report
(self-service password reset; premium tenants only).
"""

from __future__ import annotations

import datetime
import hashlib
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sandbox import msgraph_odata as odata
from sandbox.base import Request, Response
from sandbox.msgraph_data import METHOD_KINDS, Tenant

if TYPE_CHECKING:
    from sandbox.msgraph import GraphSandbox

USER_DEFAULT = (
    "businessPhones",
    "displayName",
    "givenName",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
)
USER_PROPERTIES = (
    *USER_DEFAULT,
    "accountEnabled",
    "usageLocation",
    "createdDateTime",
    "assignedLicenses",
    "signInActivity",
    "signInSessionsValidFromDateTime",
)
GROUP_PROPERTIES = (
    "displayName",
    "description",
    "mail",
    "mailEnabled",
    "mailNickname",
    "securityEnabled",
    "groupTypes",
)
DEVICE_ACTIONS = {"syncDevice": "sync", "rebootNow": "reboot", "retire": "retirePending", "wipe": "wipePending"}
Handler = Callable[["GraphSandbox", Tenant, Request, re.Match[str]], Response]
ROUTES: list[tuple[str, re.Pattern[str], tuple[str, ...], Handler]] = []


def now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def on(method: str, pattern: str, *roles: str) -> Callable[[Handler], Handler]:
    """Register a route; ``roles``: any one of these application permissions lets the call through."""

    def register(handler: Handler) -> Handler:
        ROUTES.append((method, re.compile(f"/v1\\.0{pattern}"), roles, handler))
        return handler

    return register


def route(sandbox: GraphSandbox, tenant: Tenant, roles: tuple[str, ...], request: Request) -> Response:
    known_path = False
    for method, pattern, needed, handler in ROUTES:
        match = pattern.fullmatch(request.path)
        if match is None:
            continue
        known_path = True
        if method != request.method:
            continue
        if needed and not set(needed) & set(roles):
            return odata.error(403, "Insufficient privileges to complete the operation.")
        try:
            return handler(sandbox, tenant, request, match)
        except odata.ODataError as exc:
            return exc.response
    if known_path:
        return odata.error(405, f"The HTTP method '{request.method}' is not supported for this resource.")
    return odata.error(400, f"Resource not found for the segment '{request.path.split('/')[2]}'.", "BadRequest")


def missing(key: str) -> Response:
    return odata.error(
        404,
        f"Resource '{key}' does not exist or one of its queried reference-property objects are not present.",
    )


def user_or_404(tenant: Tenant, key: str) -> dict[str, Any] | Response:
    user = tenant.user(key)
    return user if user is not None else missing(key)


def user_shape(user: dict[str, Any], request: Request) -> dict[str, Any]:
    rep = {key: user[key] for key in ("id", *USER_PROPERTIES)}
    return odata.select(rep, request, USER_DEFAULT)


def _sign_in_activity_refused(sandbox: GraphSandbox, request: Request) -> Response | None:
    """``signInActivity`` is audit data: selecting it needs AuditLog.Read.All besides User.Read.All."""
    if "signInActivity" in (request.arg("$select") or "") and "AuditLog.Read.All" not in _roles(sandbox, request):
        return odata.error(403, "Insufficient privileges to complete the operation.")
    return None


# --- users ---------------------------------------------------------------------------------------
@on("GET", r"/users", "User.Read.All")
def list_users(sandbox: GraphSandbox, tenant: Tenant, request: Request, match: re.Match[str]) -> Response:
    refused = _sign_in_activity_refused(sandbox, request)
    if refused:
        return refused
    predicate = odata.parse_filter(request.arg("$filter"))
    found = sorted((u for u in tenant.users.values() if predicate(u)), key=lambda u: u["userPrincipalName"])
    return odata.page(request, found, base=sandbox.graph_url, context="users", shape=lambda u: user_shape(u, request))


@on("GET", r"/users/([^/]+)", "User.Read.All")
def get_user(sandbox: GraphSandbox, tenant: Tenant, request: Request, match: re.Match[str]) -> Response:
    refused = _sign_in_activity_refused(sandbox, request)
    if refused:
        return refused
    user = user_or_404(tenant, match.group(1))
    if isinstance(user, Response):
        return user
    body = {"@odata.context": f"{sandbox.graph_url}/$metadata#users/$entity", **user_shape(user, request)}
    return Response(200, body)


@on(
    "PATCH",
    r"/users/([^/]+)",
    "User.EnableDisableAccount.All",
    "User-PasswordProfile.ReadWrite.All",
    "User.ReadWrite.All",
)
def update_user(sandbox: GraphSandbox, tenant: Tenant, request: Request, match: re.Match[str]) -> Response:
    user = user_or_404(tenant, match.group(1))
    if isinstance(user, Response):
        return user
    body = request.json()
    if not isinstance(body, dict) or not body:
        return odata.error(400, "Empty Payload. JSON content expected.")
    body = {key: value for key, value in body.items() if not key.startswith("@odata.")}  # annotations, not data
    unsupported = set(body) - {"accountEnabled", "passwordProfile"}
    if unsupported:
        return odata.error(400, f"The stand-in does not update {', '.join(sorted(unsupported))}.")
    token_roles = _roles(sandbox, request)
    if "accountEnabled" in body and not {"User.EnableDisableAccount.All", "User.ReadWrite.All"} & set(token_roles):
        return odata.error(403, "Insufficient privileges to complete the operation.")
    if "passwordProfile" in body and not {"User-PasswordProfile.ReadWrite.All", "User.ReadWrite.All"} & set(
        token_roles
    ):
        return odata.error(403, "Insufficient privileges to complete the operation.")
    if "accountEnabled" in body:
        if not isinstance(body["accountEnabled"], bool):
            return odata.error(400, "Invalid value specified for property 'accountEnabled' of resource 'User'.")
        user["accountEnabled"] = body["accountEnabled"]
        sandbox.record(tenant, "accountEnabled", user=user["id"], value=body["accountEnabled"])
    if "passwordProfile" in body:
        profile = body["passwordProfile"] or {}
        password = str(profile.get("password") or "")
        if not _complex(password):
            return odata.error(
                400,
                "The specified password does not comply with password complexity requirements. Please provide a "
                "different password.",
                "Request_BadRequest",
            )
        force = bool(profile.get("forceChangePasswordNextSignIn", True))
        user["passwordProfile"] = {"forceChangePasswordNextSignIn": force, "password": None}  # never readable back
        user["methods"][0]["createdDateTime"] = now()
        # A digest, never the password: a test can check which password Graph was given without the stand-in
        # keeping one readable.
        digest = hashlib.sha256(password.encode()).hexdigest()
        sandbox.record(tenant, "passwordReset", user=user["id"], forceChange=force, length=len(password), sha256=digest)
    return Response(204)


def _roles(sandbox: GraphSandbox, request: Request) -> tuple[str, ...]:
    raw = request.headers.get("authorization", "").partition(" ")[2]
    return sandbox.tokens[raw].roles


def _complex(password: str) -> bool:
    """Entra ID's rule: 8-256 characters with three of lower case, upper case, digits and symbols."""
    classes = sum(bool(re.search(pattern, password)) for pattern in (r"[a-z]", r"[A-Z]", r"[0-9]", r"[^A-Za-z0-9]"))
    return 8 <= len(password) <= 256 and classes >= 3


@on("POST", r"/users/([^/]+)/revokeSignInSessions", "User.RevokeSessions.All")
def revoke(sandbox: GraphSandbox, tenant: Tenant, request: Request, match: re.Match[str]) -> Response:
    user = user_or_404(tenant, match.group(1))
    if isinstance(user, Response):
        return user
    user["signInSessionsValidFromDateTime"] = now()
    sandbox.record(tenant, "revokeSignInSessions", user=user["id"])
    return Response(200, {"@odata.context": f"{sandbox.graph_url}/$metadata#Edm.Boolean", "value": True})


# --- authentication methods ----------------------------------------------------------------------
def _method_shape(method: dict[str, Any]) -> dict[str, Any]:
    odata_type, _ = METHOD_KINDS[method["type"]]
    rep = {key: value for key, value in method.items() if key != "type"}
    rep.setdefault("createdDateTime", "2025-02-01T10:00:00Z")
    if method["type"] == "password":
        rep["password"] = None  # Graph never returns it
    return {"@odata.type": odata_type, **rep}


@on(
    "GET",
    r"/users/([^/]+)/authentication/methods",
    "UserAuthenticationMethod.Read.All",
    "UserAuthenticationMethod.ReadWrite.All",
)
def list_methods(sandbox: GraphSandbox, tenant: Tenant, request: Request, match: re.Match[str]) -> Response:
    user = user_or_404(tenant, match.group(1))
    if isinstance(user, Response):
        return user
    context = f"users('{user['id']}')/authentication/methods"
    return odata.page(request, user["methods"], base=sandbox.graph_url, context=context, shape=_method_shape)


@on("DELETE", r"/users/([^/]+)/authentication/([A-Za-z0-9]+Methods)/([^/]+)", "UserAuthenticationMethod.ReadWrite.All")
def delete_method(sandbox: GraphSandbox, tenant: Tenant, request: Request, match: re.Match[str]) -> Response:
    user = user_or_404(tenant, match.group(1))
    if isinstance(user, Response):
        return user
    collection, method_id = match.group(2), match.group(3)
    kinds = {segment: kind for kind, (_, segment) in METHOD_KINDS.items() if segment}
    if collection not in kinds:
        return odata.error(400, f"Resource not found for the segment '{collection}'.", "BadRequest")
    method = next((m for m in user["methods"] if m["id"] == method_id and m["type"] == kinds[collection]), None)
    if method is None:
        return missing(method_id)
    user["methods"].remove(method)
    sandbox.record(tenant, "deleteMethod", user=user["id"], method=method_id, kind=method["type"])
    return Response(204)


@on("GET", r"/identityProtection/riskyUsers/([^/]+)", "IdentityRiskyUser.Read.All")
def risky_user(sandbox: GraphSandbox, tenant: Tenant, request: Request, match: re.Match[str]) -> Response:
    user = tenant.users.get(match.group(1))
    if user is None or user["risk"] is None:
        return missing(match.group(1))
    body = {
        "@odata.context": f"{sandbox.graph_url}/$metadata#identityProtection/riskyUsers/$entity",
        "id": user["id"],
        "isDeleted": False,
        "isProcessing": False,
        "userDisplayName": user["displayName"],
        "userPrincipalName": user["userPrincipalName"],
        **user["risk"],
    }
    return Response(200, body)


# --- reports: user registration details ------------------------------------------------------------
# What each seeded method kind shows in the report's ``methodsRegistered`` (Microsoft's names), and which of them
# self-service password reset accepts: the Authenticator app, a phone, an email — not a FIDO2 key or Windows Hello.
REGISTERED_AS = {
    "microsoftAuthenticator": "microsoftAuthenticatorPush",
    "email": "email",
    "softwareOath": "softwareOneTimePasscode",
    "fido2": "fido2SecurityKey",
    "windowsHelloForBusiness": "windowsHelloForBusiness",
}
PHONE_REGISTERED_AS = {"mobile": "mobilePhone", "alternateMobile": "alternateMobilePhone", "office": "officePhone"}
SSPR_METHODS = frozenset(
    {"microsoftAuthenticatorPush", "softwareOneTimePasscode", "email", "mobilePhone", "alternateMobilePhone"}
    | {"officePhone"}
)


def _registered(method: dict[str, Any]) -> str | None:
    if method["type"] == "phone":
        return PHONE_REGISTERED_AS.get(method.get("phoneType", "mobile"), "mobilePhone")
    return REGISTERED_AS.get(method["type"])


@on("GET", r"/reports/authenticationMethods/userRegistrationDetails/([^/]+)", "AuditLog.Read.All")
def registration_details(sandbox: GraphSandbox, tenant: Tenant, request: Request, match: re.Match[str]) -> Response:
    """One user's row of Entra ID's registration report (keyed by object id only); a tenant without Entra ID P1
    gets Graph's 403 for reports of non-premium tenants."""
    if not tenant.premium():
        return odata.error(
            403,
            "Neither tenant is B2C or tenant doesn't have premium license",
            "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
        )
    user = tenant.users.get(match.group(1))
    if user is None:
        return missing(match.group(1))
    methods = sorted({name for name in map(_registered, user["methods"]) if name})
    registered = len(set(methods) & SSPR_METHODS) >= tenant.sspr_methods_required
    enabled = tenant.sspr_enabled_for(user)
    context = "reports/authenticationMethods/userRegistrationDetails/$entity"
    body = {
        "@odata.context": f"{sandbox.graph_url}/$metadata#{context}",
        "id": user["id"],
        "userPrincipalName": user["userPrincipalName"],
        "userDisplayName": user["displayName"],
        "userType": "member",
        "isAdmin": False,
        "isSsprRegistered": registered,
        "isSsprEnabled": enabled,
        "isSsprCapable": registered and enabled and user["accountEnabled"],
        "isMfaRegistered": bool(methods),
        "isMfaCapable": bool(methods) and user["accountEnabled"],
        "isPasswordlessCapable": "fido2SecurityKey" in methods or "windowsHelloForBusiness" in methods,
        "methodsRegistered": methods,
        "defaultMfaMethod": methods[0] if methods else "none",
        "lastUpdatedDateTime": now(),
    }
    return Response(200, body)
