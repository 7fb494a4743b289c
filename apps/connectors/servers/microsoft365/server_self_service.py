"""Whether a user can reset their own password: Microsoft's self-service password reset (SSPR).

A forgotten password is the commonest ticket an MSP gets, and the safest answer to it hands nothing over: the user
proves who they are to Microsoft with a method they registered (the Authenticator app, a phone) at
https://passwordreset.microsoftonline.com. Whether that works for a user — registered for it, enabled for it by the
tenant's policy — is in Entra ID's user registration details report, which Graph keeps for tenants with Entra ID P1
only (Microsoft 365 Business Premium includes it). Without P1, or before the report has a row for a new user, the
tenant's SSPR policy is not readable through Graph v1.0: the tool says it cannot tell (``known: false``) unless the
MSP declared the policy on the connector (``GABY_M365_SSPR_METHODS``: on for every user, one or two methods), in
which case the user's registered methods, which Graph does list without P1, decide.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mcp.server.mcpserver import MCPServer

from apps.connectors.servers.microsoft365.client import Graph, GraphFailure
from apps.connectors.servers.microsoft365.shapes import method_kind, when
from apps.connectors.servers.microsoft365.tooling import READ, guard

if TYPE_CHECKING:
    from apps.connectors.servers.microsoft365.server import Directory

RESET_PAGE = "https://passwordreset.microsoftonline.com"
# The registered methods a self-service reset accepts: the Authenticator app, a phone, an email, an OATH code — not a
# FIDO2 key or Windows Hello.
RESET_METHODS = frozenset({"microsoftAuthenticator", "phone", "email", "softwareOath"})


def register(server: MCPServer, graph: Graph, directory: Directory) -> None:
    client = graph.client

    @server.tool(annotations=READ)
    async def self_service_reset(user: str) -> dict[str, Any]:
        """Can the user reset their own password at Microsoft's reset page? ``capable`` is true when they are
        registered for self-service password reset (enough methods such as the Authenticator app or a phone) and
        the tenant's policy enables it for them; ``known`` is false when Graph cannot say (no Entra ID P1, or no
        report row yet). ``user``: id or sign-in name."""

        async def check() -> dict[str, Any]:
            found = await directory.user(user)
            user_id = str(found.id)
            email = str(found.mail or found.user_principal_name or "")
            reports = client.reports.authentication_methods.user_registration_details
            try:
                details = await graph.call(
                    lambda: reports.by_user_registration_details_id(user_id).get(), permission="AuditLog.Read.All"
                )
            except GraphFailure as exc:
                if exc.code not in ("premium_required", "not_found"):
                    raise
                if graph.settings.sspr_methods:
                    return await from_declared_policy(user_id, email, graph.settings.sspr_methods)
                why = (
                    str(exc)
                    if exc.code == "premium_required"
                    else "Entra ID's registration report has no row for this user yet (it is updated periodically)."
                )
                return {"user_id": user_id, "email": email, "known": False, "capable": None, "why": why}
            return {
                "user_id": user_id,
                "email": email,
                "known": True,
                "capable": bool(details and details.is_sspr_capable),
                "registered": bool(details and details.is_sspr_registered),
                "enabled": bool(details and details.is_sspr_enabled),
                "methods": list((details and details.methods_registered) or []),
                "reset_page": RESET_PAGE,
                "source": "Entra ID's user registration details report",
                "report_updated": when(details.last_updated_date_time) if details else None,
            }

        return await guard(check)

    async def from_declared_policy(user_id: str, email: str, required: int) -> dict[str, Any]:
        kinds = sorted({method_kind(item) for item in await directory.methods(user_id)} & RESET_METHODS)
        registered = len(kinds) >= required
        return {
            "user_id": user_id,
            "email": email,
            "known": True,
            "capable": registered,
            "registered": registered,
            "enabled": True,
            "methods": kinds,
            "reset_page": RESET_PAGE,
            "source": f"the MSP's setting (on for every user, {required} method(s) to reset) and the user's "
            "registered methods",
            "report_updated": None,
        }
