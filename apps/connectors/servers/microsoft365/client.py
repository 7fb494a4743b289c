"""Microsoft Graph through the official SDK (msgraph-sdk) with an azure-identity client-secret credential.

One app registration per customer tenant (or one multi-tenant app consented in each): the credential asks the
tenant's token endpoint for ``<graph>/.default`` — the application permissions an admin granted — and the SDK's
middleware retries 429/503/504 after ``Retry-After`` (up to ``MAX_WAIT_S``; a longer wait fails the call saying
when to retry). Requests go through the install's outbound-URL policy:
Graph calls on the pinned transport (apps/core/outbound_http.py), the token endpoint checked once at start (the
credential uses azure-core's own transport). ``GABY_M365_CA_FILE`` trusts a private CA for these two hosts only
(the stand-in's); nothing turns verification off.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
from azure.core.credentials import AccessToken
from azure.core.exceptions import AzureError, ClientAuthenticationError
from azure.identity.aio import ClientSecretCredential
from kiota_abstractions.request_information import RequestInformation
from kiota_authentication_azure.azure_identity_authentication_provider import AzureIdentityAuthenticationProvider
from kiota_http.kiota_client_factory import KiotaClientFactory
from kiota_http.middleware import RetryHandler
from kiota_http.middleware.options import RetryHandlerOption
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph_core import GraphClientFactory
from msgraph_core.middleware import GraphTelemetryHandler

from apps.core import outbound_http
from apps.core.outbound import OutboundRefused, check_url

# azure-core and httpx log every request at INFO; in a connector subprocess that goes to stderr, i.e. into Gaby's logs,
# with URLs whose $filter holds email addresses. What matters surfaces as tool results and errors instead.
for _name in ("azure", "httpx", "httpcore"):
    logging.getLogger(_name).setLevel(logging.WARNING)

T = TypeVar("T")
MICROSOFT_LOGIN = "https://login.microsoftonline.com"
MICROSOFT_GRAPH = "https://graph.microsoft.com"
# Graph's code for a report (sign-in logs, registration details) asked of a tenant without Entra ID P1.
NON_PREMIUM = "Authentication_RequestFromNonPremiumTenantOrB2CTenant"
MAX_WAIT_S = 10.0  # the longest Retry-After a tool call sleeps through; beyond it the call fails saying when to retry


class BoundedRetryHandler(RetryHandler):
    """The SDK's retry middleware (429, 503, 504 with ``Retry-After`` or backoff), except that a wait longer than
    ``MAX_WAIT_S`` is not slept through: the SDK would wait up to 180 s, well past a tool call's timeout."""

    def get_delay_time(
        self,
        retry_count: int,
        response: httpx.Response | None = None,
        delay: float = RetryHandlerOption.DEFAULT_DELAY,
    ) -> float:
        wait = super().get_delay_time(retry_count, response, delay)
        return wait if wait <= MAX_WAIT_S else RetryHandlerOption.MAX_DELAY  # MAX_DELAY: the handler gives up


def middleware() -> list[Any]:
    """The Graph SDK's default middleware with the bounded retry handler in the retry handler's place."""
    chain = [
        BoundedRetryHandler() if isinstance(m, RetryHandler) else m
        for m in KiotaClientFactory.get_default_middleware(None)
    ]
    return [*chain, GraphTelemetryHandler()]


class RenewableCredential:
    """azure-identity's ``ClientSecretCredential`` behind a door that can be replaced: ``renew()`` drops the cached
    token (a new credential asks the token endpoint again). A token Graph rejects before its stated expiry —
    revoked, or the stand-in's ``expire_tokens`` — would otherwise be sent until azure-identity renews it."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._inner = self._make()

    def _make(self) -> ClientSecretCredential:
        s = self.settings
        return ClientSecretCredential(
            s.tenant_id, s.client_id, s.client_secret, authority=s.authority, connection_verify=s.ca_file or True
        )

    async def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> AccessToken:
        return await self._inner.get_token(*scopes, claims=claims, tenant_id=tenant_id, enable_cae=enable_cae, **kwargs)

    async def __aenter__(self) -> RenewableCredential:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def renew(self) -> None:
        stale, self._inner = self._inner, self._make()
        await stale.close()

    async def close(self) -> None:
        await self._inner.close()


class GraphFailure(Exception):
    """Graph or the identity platform refused or failed; the message says what happened and what to check."""

    def __init__(self, message: str, *, status: int = 0, code: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.code = code


@dataclass(frozen=True)
class Settings:
    tenant_id: str  # the customer tenant: its id (a GUID) or a verified domain
    client_id: str
    client_secret: str
    authority: str = MICROSOFT_LOGIN
    graph_url: str = MICROSOFT_GRAPH
    ca_file: str = ""  # a private CA to trust for these hosts (the stand-in's); empty: the system's
    page_size: int = 100
    timeout: float = 20.0
    # The MSP's word that self-service password reset is on for every user of this tenant and asks for this many
    # registered methods (0: not declared). Graph v1.0 cannot read that policy, and its registration report needs
    # Entra ID P1, so for a Business Standard tenant this is the only way Gaby can know.
    sspr_methods: int = 0

    @classmethod
    def from_env(cls) -> Settings:
        tenant, client_id = os.environ.get("GABY_M365_TENANT_ID", ""), os.environ.get("GABY_M365_CLIENT_ID", "")
        secret = os.environ.get("GABY_M365_CLIENT_SECRET", "")
        if not (tenant and client_id and secret):
            raise SystemExit(
                "GABY_M365_TENANT_ID, GABY_M365_CLIENT_ID and GABY_M365_CLIENT_SECRET must be set: the customer "
                "tenant, and the app registration's client id and secret."
            )
        return cls(
            tenant_id=tenant,
            client_id=client_id,
            client_secret=secret,
            authority=(os.environ.get("GABY_M365_AUTHORITY") or MICROSOFT_LOGIN).rstrip("/"),
            graph_url=(os.environ.get("GABY_M365_GRAPH_URL") or MICROSOFT_GRAPH).rstrip("/"),
            ca_file=os.environ.get("GABY_M365_CA_FILE", ""),
            page_size=int(os.environ.get("GABY_M365_PAGE_SIZE", "100")),
            timeout=float(os.environ.get("GABY_M365_TIMEOUT_S", "20")),
            sspr_methods=int(os.environ.get("GABY_M365_SSPR_METHODS") or 0),
        )


class Graph:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        for name, url in (("authority", settings.authority), ("Graph URL", settings.graph_url)):
            if urlsplit(url).scheme != "https":
                raise GraphFailure(f"The {name} must be an https:// URL (got {url!r}).")
            try:
                check_url(url)  # the token endpoint's requests are not pinned: its host is checked here
            except OutboundRefused as exc:
                raise GraphFailure(str(exc)) from None
        verify: ssl.SSLContext | bool = True
        if settings.ca_file:
            verify = ssl.create_default_context(cafile=settings.ca_file)
        self.credential = RenewableCredential(settings)
        auth = AzureIdentityAuthenticationProvider(
            self.credential,
            scopes=[f"{settings.graph_url}/.default"],
            allowed_hosts=[urlsplit(settings.graph_url).netloc.split(":")[0]],
        )
        http = outbound_http.async_client(
            verify=verify, base_url=f"{settings.graph_url}/v1.0", timeout=settings.timeout
        )
        self._http = GraphClientFactory.create_with_custom_middleware(middleware(), client=http)
        self.adapter = GraphRequestAdapter(auth, client=self._http)
        self.adapter.base_url = self.v1  # httpx adds a slash to its base URL; the SDK's templates start with one
        self.client = GraphServiceClient(request_adapter=self.adapter)

    @property
    def v1(self) -> str:
        return f"{self.settings.graph_url}/v1.0"

    async def call(self, make: Callable[[], Awaitable[T]], *, permission: str = "") -> T:
        """Await one SDK call; failures become ``GraphFailure`` with a message for the person reading it. A 401
        (the token was rejected) gets one fresh token and one more try."""
        try:
            try:
                return await make()
            except ODataError as exc:
                if exc.response_status_code != 401:
                    raise
                await self.credential.renew()
                return await make()
        except ODataError as exc:
            raise _from_odata(exc, permission) from None
        except ClientAuthenticationError as exc:
            raise GraphFailure(
                f"Microsoft Entra ID refused the connector's credentials for tenant {self.settings.tenant_id}: "
                f"{_aadsts(exc)} Check the tenant id, the app's client id and secret, and that an admin of this "
                "tenant consented to the app.",
                status=401,
                code="auth_failed",
            ) from None
        except AzureError as exc:
            raise GraphFailure(f"Cannot get a token from {self.settings.authority}: {exc}") from None
        except OutboundRefused as exc:
            raise GraphFailure(str(exc)) from None
        except httpx.ConnectError as exc:
            raise GraphFailure(f"Cannot reach Microsoft Graph at {self.settings.graph_url}: {exc}") from None
        except httpx.HTTPError as exc:
            raise GraphFailure(f"Microsoft Graph did not answer ({type(exc).__name__}: {exc}).") from None

    async def pages(self, first: Any, follow: Callable[[str], Awaitable[Any]], *, limit: int) -> list[Any]:
        """``value`` of a collection and of each ``@odata.nextLink`` after it, up to ``limit`` items."""
        items = list(first.value or []) if first is not None else []
        link = first.odata_next_link if first is not None else None
        while link and len(items) < limit:
            page = await self.call(functools.partial(follow, link))
            items.extend(page.value or [])
            link = page.odata_next_link
        return items[:limit]

    def describe(self, info: RequestInformation, *, hide: tuple[str, ...] = ()) -> dict[str, Any]:
        """The exact request the SDK would send (method, URL, JSON body) for a dry run; ``hide``: body keys masked."""
        info.path_parameters["baseurl"] = self.v1  # what the adapter sets when it sends
        body: Any = None
        if info.content:
            body = json.loads(info.content)
            for key in hide:
                _mask(body, key)
        return {"method": info.http_method.value if info.http_method else "", "url": info.url, "body": body}

    async def close(self) -> None:
        await self.credential.close()
        await self._http.aclose()


def _mask(body: Any, key: str) -> None:
    if isinstance(body, dict):
        for name, value in body.items():
            if name == key:
                body[name] = "********"
            else:
                _mask(value, key)


def _aadsts(exc: ClientAuthenticationError) -> str:
    """The identity platform's own words (AADSTS code and description), without the trace ids after them."""
    text = str(exc.message or exc)
    start = text.find("AADSTS")
    if start >= 0:
        text = text[start:]
    return text.split(" Trace ID:")[0].strip().rstrip(".") + "."


def _from_odata(exc: ODataError, permission: str) -> GraphFailure:
    status = int(exc.response_status_code or 0)
    code = exc.error.code if exc.error and exc.error.code else ""
    message = exc.error.message if exc.error and exc.error.message else str(exc)
    if status == 403 and code == NON_PREMIUM:
        return GraphFailure(
            "This tenant has no Entra ID P1 licence (Microsoft 365 Business Premium includes one), and Microsoft "
            "Graph keeps its reports for premium tenants.",
            status=403,
            code="premium_required",
        )
    if status == 403:
        need = f" It needs the application permission {permission}, granted with admin consent." if permission else ""
        return GraphFailure(
            f"Microsoft Graph refused: the app may not do this in this tenant ({code}: {message}).{need}",
            status=403,
            code="forbidden",
        )
    if status == 404:
        return GraphFailure(f"Not found in this tenant: {message}", status=404, code="not_found")
    if status == 429:
        headers = {key.lower(): value for key, value in (exc.response_headers or {}).items()}
        after = headers.get("retry-after", "")
        when = f"in {after}s" if after.isdigit() else "in a minute"
        return GraphFailure(
            f"Microsoft Graph is throttling these calls (HTTP 429); try again {when}.",
            status=429,
            code="rate_limited",
        )
    if status == 401:
        return GraphFailure(f"Microsoft Graph rejected the access token ({message}).", status=401, code="auth_failed")
    return GraphFailure(f"Microsoft Graph answered HTTP {status} {code}: {message}", status=status, code=code)
