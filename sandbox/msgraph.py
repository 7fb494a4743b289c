"""A Microsoft Graph v1.0 stand-in with the Microsoft identity platform's token endpoint, several customer tenants,
served over HTTPS (MSAL and the Graph SDK accept nothing else) with a CA made at start (``ca_file``).

Identity platform (what azure-identity's ``ClientSecretCredential`` / MSAL call):
``GET /{tenant}/v2.0/.well-known/openid-configuration`` and ``POST /{tenant}/oauth2/v2.0/token``
(client credentials, ``scope=<resource>/.default``), with AADSTS errors: unknown tenant (AADSTS90002), app not
consented in that tenant (AADSTS700016), wrong secret (AADSTS7000215), scope without ``/.default``
(AADSTS1002012). ``{tenant}`` is a tenant id or one of its verified domains.

Graph (``/v1.0``, routes in ``sandbox/msgraph_routes.py``): a token reads and changes only the tenant it was
issued for — another tenant's object ids answer 404 as in Entra ID — and each route checks the token's
application permissions (``roles``): missing ones answer 403 ``Authorization_RequestDenied``. OData paging,
``$select``/``$filter``/``$top``, Graph error bodies; ``fail_next(429, headers={"Retry-After": "1"})`` throttles.

Inspect: ``tenant(id_or_domain)``, ``tokens_issued``, ``actions`` (every change, in order), ``expire_tokens()``.
Partner (GDAP) tenants list their customers and contracts (``sandbox/msgraph_partner.py``).

Run alone for the demo: ``python -m sandbox.msgraph --port 8443`` (serves DEMO_SEED and the partner tenant;
prints the URL and CA file; ``GABY_MSGRAPH_CA_DIR`` keeps the CA in that directory across restarts).
"""

from __future__ import annotations

import copy
import dataclasses
import os
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from sandbox import msgraph_odata as odata
from sandbox import msgraph_resources  # noqa: F401 (registers the licence, group, device and domain routes)
from sandbox.base import Request, Response, Sandbox, serve_from_command_line
from sandbox.msgraph_data import DEMO_SEED, AppConsent, Tenant, build_tenant
from sandbox.msgraph_partner import with_partner
from sandbox.msgraph_routes import route
from sandbox.tls import LocalCA

TOKEN_LIFETIME_S = 3599


@dataclass(frozen=True)
class Token:
    tenant_id: str
    client_id: str
    roles: tuple[str, ...]
    expires_at: float


class GraphSandbox(Sandbox):
    name = "msgraph"

    def __init__(self, seed: dict[str, Any] | None = None, *, ca_dir: str | None = None) -> None:
        """``ca_dir``: keep the CA there and reuse it on later starts (a demo's stored connector names its file)."""
        super().__init__()
        self._seed = copy.deepcopy(seed if seed is not None else with_partner(DEMO_SEED))
        self._ca = LocalCA(ca_dir)
        self.ca_file = self._ca.ca_file
        self.tls = self._ca.server_context()
        self.tokens: dict[str, Token] = {}
        self.tokens_issued = 0
        self.reset_data()

    def reset_data(self) -> None:
        """Back to the seeded tenants with no recorded actions (issued tokens stay valid)."""
        with self.lock:
            self.tenants: dict[str, Tenant] = {}
            for raw in self._seed.get("tenants", []):
                tenant = build_tenant(raw)
                self.tenants[tenant.id] = tenant
            self.actions: list[dict[str, Any]] = []

    def stop(self) -> None:
        super().stop()
        self._ca.cleanup()

    # --- inspection ----------------------------------------------------------------------------
    def tenant(self, key: str) -> Tenant:
        with self.lock:
            found = self._tenant(key)
        if found is None:
            raise KeyError(key)
        return found

    def _tenant(self, key: str) -> Tenant | None:
        if key in self.tenants:
            return self.tenants[key]
        return next((t for t in self.tenants.values() if t.owns_domain(key)), None)

    def expire_tokens(self) -> None:
        with self.lock:
            self.tokens = {key: Token(t.tenant_id, t.client_id, t.roles, 0.0) for key, t in self.tokens.items()}

    @property
    def graph_url(self) -> str:
        return f"{self.base_url}/v1.0"

    def error_body(self, status: int, message: str) -> Any:
        return odata.error_body(status, message)

    # --- HTTP ------------------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        if request.path.startswith("/v1.0/"):
            return self._graph(request)
        discovery = re.fullmatch(r"/([^/]+)/v2\.0/\.well-known/openid-configuration", request.path)
        if discovery and request.method == "GET":
            return self._discovery(discovery.group(1))
        token = re.fullmatch(r"/([^/]+)/oauth2/v2\.0/token", request.path)
        if token and request.method == "POST":
            return self._token(token.group(1), request)
        return odata.error(404, f"Resource not found for the segment '{request.path.strip('/').split('/')[0]}'.")

    def _aad_error(self, status: int, error: str, code: int, description: str) -> Response:
        return Response(
            status,
            {
                "error": error,
                "error_description": f"AADSTS{code}: {description}",
                "error_codes": [code],
                "timestamp": time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime()),
                "trace_id": secrets.token_hex(16),
                "correlation_id": secrets.token_hex(16),
            },
        )

    def _discovery(self, key: str) -> Response:
        tenant = self._tenant(key)
        if tenant is None:
            return self._aad_error(400, "invalid_tenant", 90002, f"Tenant '{key}' not found.")
        issuer = f"{self.base_url}/{tenant.id}/v2.0"
        return Response(
            200,
            {
                "token_endpoint": f"{self.base_url}/{tenant.id}/oauth2/v2.0/token",
                "token_endpoint_auth_methods_supported": [
                    "client_secret_post",
                    "private_key_jwt",
                    "client_secret_basic",
                ],
                "jwks_uri": f"{self.base_url}/{tenant.id}/discovery/v2.0/keys",
                "response_modes_supported": ["query", "fragment", "form_post"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
                "scopes_supported": ["openid", "profile", "email", "offline_access"],
                "issuer": issuer,
                "authorization_endpoint": f"{self.base_url}/{tenant.id}/oauth2/v2.0/authorize",
                "device_authorization_endpoint": f"{self.base_url}/{tenant.id}/oauth2/v2.0/devicecode",
                "end_session_endpoint": f"{self.base_url}/{tenant.id}/oauth2/v2.0/logout",
                "tenant_region_scope": "NA",
                "cloud_instance_name": "microsoftonline.com",
            },
        )

    def _token(self, key: str, request: Request) -> Response:
        tenant = self._tenant(key)
        if tenant is None:
            return self._aad_error(400, "invalid_request", 90002, f"Tenant '{key}' not found.")
        form = {name: values[-1] for name, values in request.form().items()}
        if form.get("grant_type") != "client_credentials":
            return self._aad_error(400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type.")
        client_id = form.get("client_id", "")
        app = tenant.apps.get(client_id)
        if app is None:
            return self._aad_error(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{client_id}' was not found in the directory '{tenant.name}'. This can "
                "happen if the application has not been installed by the administrator of the tenant or consented "
                "to by any user in the tenant.",
            )
        expected = self._secret_of(app)
        if not expected or not secrets.compare_digest(expected, form.get("client_secret", "")):
            return self._aad_error(
                401,
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in "
                f"the request is the client secret value, not the client secret ID, for a secret added to app "
                f"'{client_id}'.",
            )
        scope = form.get("scope", "")
        if not scope.endswith("/.default"):
            return self._aad_error(
                400,
                "invalid_scope",
                1002012,
                f"The provided value for scope {scope} is not valid. Client credential flows must have a scope value "
                "with /.default suffixed to the resource identifier (application ID URI).",
            )
        access = secrets.token_urlsafe(32)
        self.tokens[access] = Token(tenant.id, client_id, app.roles, time.time() + TOKEN_LIFETIME_S)
        self.tokens_issued += 1
        return Response(
            200,
            {
                "token_type": "Bearer",
                "expires_in": TOKEN_LIFETIME_S,
                "ext_expires_in": TOKEN_LIFETIME_S,
                "access_token": access,
            },
        )

    def _secret_of(self, app: AppConsent) -> str:
        """A multi-tenant app's secret is its registration's, in its home tenant (empty: no secret works)."""
        if not app.home:
            return app.secret
        home = self.tenants.get(app.home)
        registration = home.apps.get(app.client_id) if home else None
        return registration.secret if registration else ""

    def _graph(self, request: Request) -> Response:
        scheme, _, raw = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not raw:
            return odata.error(401, "Access token is empty.")
        token = self.tokens.get(raw)
        if token is None:
            return odata.error(401, "Access token validation failure. Invalid audience.")
        if token.expires_at <= time.time():
            return odata.error(401, "Lifetime validation failed, the token is expired.")
        tenant = self.tenants[token.tenant_id]
        # Keys in paths arrive percent-encoded (users/jane%40contoso.com, members/%24ref): Graph decodes them.
        return route(self, tenant, token.roles, dataclasses.replace(request, path=unquote(request.path)))

    def record(self, tenant: Tenant, action: str, **details: Any) -> None:
        self.actions.append({"tenant": tenant.id, "action": action, **details})


def main() -> None:
    sandbox = GraphSandbox(with_partner(DEMO_SEED), ca_dir=os.environ.get("GABY_MSGRAPH_CA_DIR") or None)
    print(f"CA file: {sandbox.ca_file}", flush=True)
    serve_from_command_line(
        sandbox, description="Serve the Microsoft Graph stand-in with its demo seed.", default_port=8443
    )


if __name__ == "__main__":
    main()
