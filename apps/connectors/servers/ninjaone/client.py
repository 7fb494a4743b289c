"""NinjaOne's OAuth token endpoint and public API v2, through the connector's one HTTP seam (servers/rest.py).

No NinjaOne Python SDK is official: PyPI has only community wrappers (ninjapy, ninjarmmpy,
py-ninjarmm-api-client) that bring their own HTTP stack, so they would bypass the outbound-URL policy and the
shared retry rules. The API is plain REST, so this client maps its few payloads itself.

Authentication: an API client app (client credentials) with the scopes ``monitoring`` (reads) and
``management`` (service control, alert reset, script runs); ``control`` is asked for too, as NinjaOne's
client-credentials apps are set up with it. The token is kept until shortly before it expires and fetched
again when a call answers 401 (expired or revoked early).

A connector serves one Gaby client, so it sees only the NinjaOne organizations its settings name: device lists
are filtered with ``df=org in (...)`` and every device a tool touches is checked against them first.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from typing import Any

from apps.connectors.servers.rest import RestClient, VendorError

REFRESH_MARGIN_S = 60  # renew this long before the token says it expires
SCOPES = "monitoring management control"


class NotFound(VendorError):
    pass


class OutsideOrganizations(VendorError):
    """A device, alert or organization that is not among the connector's organizations."""


def _ids(raw: str, name: str) -> tuple[int, ...]:
    try:
        return tuple(sorted({int(part) for part in raw.replace(";", ",").split(",") if part.strip()}))
    except ValueError:
        raise SystemExit(f"{name} must be NinjaOne organization ids separated by commas, e.g. 12,15.") from None


def _names(raw: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in raw.split(",") if part.strip())


@dataclass(frozen=True)
class Settings:
    base_url: str  # https://app.ninjarmm.com, https://eu.ninjarmm.com, https://ca.ninjarmm.com ...
    client_id: str
    client_secret: str
    organizations: tuple[int, ...]  # the only organizations this connector may see or act in
    allowed_scripts: tuple[str, ...] = ()  # library scripts (ids or exact names) run_allowed_script may run
    page_size: int = 200
    timeout: float = 15.0
    script_wait: float = 20.0  # the longest a script run is polled before the tool returns "still running"
    poll_interval: float = 0.5

    @classmethod
    def from_env(cls) -> Settings:
        base_url = os.environ.get("GABY_NINJA_URL", "").rstrip("/")
        client_id = os.environ.get("GABY_NINJA_CLIENT_ID", "")
        if not base_url or not client_id:
            raise SystemExit(
                "GABY_NINJA_URL and GABY_NINJA_CLIENT_ID must be set: the NinjaOne instance URL (e.g. "
                "https://app.ninjarmm.com) and the API client app's id."
            )
        organizations = _ids(os.environ.get("GABY_NINJA_ORGANIZATIONS", ""), "GABY_NINJA_ORGANIZATIONS")
        if not organizations:
            raise SystemExit(
                "GABY_NINJA_ORGANIZATIONS must name the NinjaOne organization id(s) of this client: a connector "
                "never sees every organization of the MSP's instance."
            )
        return cls(
            base_url=base_url,
            client_id=client_id,
            client_secret=os.environ.get("GABY_NINJA_CLIENT_SECRET", ""),
            organizations=organizations,
            allowed_scripts=_names(os.environ.get("GABY_NINJA_ALLOWED_SCRIPTS", "")),
            page_size=int(os.environ.get("GABY_NINJA_PAGE_SIZE", "200")),
            timeout=float(os.environ.get("GABY_NINJA_TIMEOUT_S", "15")),
            script_wait=float(os.environ.get("GABY_NINJA_SCRIPT_WAIT_S", "20")),
            poll_interval=float(os.environ.get("GABY_NINJA_POLL_S", "0.5")),
        )

    @property
    def org_filter(self) -> str:
        """The device filter (``df``) that keeps every list inside the connector's organizations."""
        return f"org in ({','.join(str(org) for org in self.organizations)})"


class NinjaOne:
    def __init__(self, settings: Settings, *, backoff: float = 0.25) -> None:
        self.settings = settings
        self.rest = RestClient(vendor="NinjaOne", base_url=settings.base_url, timeout=settings.timeout, backoff=backoff)
        self._lock = threading.Lock()
        self._token = ""
        self._expires_at = 0.0
        self.grants = 0

    # --- tokens -------------------------------------------------------------------------------
    def token(self, *, force: bool = False) -> str:
        with self._lock:
            if not force and self._token and time.time() < self._expires_at - REFRESH_MARGIN_S:
                return self._token
            form = {
                "grant_type": "client_credentials",
                "client_id": self.settings.client_id,
                "client_secret": self.settings.client_secret,
                "scope": SCOPES,
            }
            response = self.rest.send("POST", "/ws/oauth/token", data=form, retry=True)
            body = self.rest.json(response)
            if response.status_code >= 400 or not isinstance(body, dict) or "access_token" not in body:
                detail = (body.get("error_description") or body.get("error")) if isinstance(body, dict) else body
                raise VendorError(
                    f"NinjaOne refused the connector's credentials (HTTP {response.status_code}: {detail}). Check the "
                    "API client app's id and secret, that it allows the client-credentials grant with the scopes "
                    f"'{SCOPES}', and the instance URL (app., eu., ca., oc. ...).",
                    status=response.status_code,
                    code="auth_failed",
                )
            self.grants += 1
            self._token = str(body["access_token"])
            self._expires_at = time.time() + float(body.get("expires_in", 3600))
            return self._token

    # --- API ----------------------------------------------------------------------------------
    def api(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        retry: bool = True,
    ) -> Any:
        """Call ``/v2{path}``; a 401 gets one fresh token and one more try."""
        response = self.rest.send_bearer(
            method, f"/v2{path}", lambda fresh: self.token(force=fresh), params=params, json=json, retry=retry
        )
        status = response.status_code
        if status == 401:
            raise VendorError("NinjaOne rejected a fresh access token (HTTP 401).", status=401, code="auth_failed")
        body = self.rest.json(response)
        if status == 403:
            raise VendorError(
                f"NinjaOne says the connector's API client may not do this (HTTP 403: {_message(body)}). Give the "
                "client app the 'monitoring' scope for reads and 'management' for service control, alert resets "
                "and scripts.",
                status=403,
                code="forbidden",
            )
        if status == 404:
            raise NotFound(_message(body) or "Not found in NinjaOne.", status=404, code="not_found")
        if status >= 400:
            raise VendorError(f"NinjaOne answered HTTP {status}: {_message(body) or body}", status=status)
        return body

    def paged(self, path: str, params: dict[str, Any], *, limit: int) -> list[dict[str, Any]]:
        """Follow NinjaOne's ``after``/``pageSize`` paging (``after`` is the last id seen) until a short page."""
        items: list[dict[str, Any]] = []
        after = 0
        while len(items) < limit:
            size = min(self.settings.page_size, limit - len(items))
            page = self.api("GET", path, params={**params, "pageSize": size, **({"after": after} if after else {})})
            if not isinstance(page, list):
                raise VendorError(f"NinjaOne answered {path} with {type(page).__name__}, not a list.")
            items.extend(page)
            if len(page) < size or not page:
                break
            after = int(page[-1]["id"])
        return items[:limit]

    def query(self, path: str, df: str, *, limit: int = 1000) -> list[dict[str, Any]]:
        """A ``/v2/queries/*`` report: ``data`` rows, following ``cursor.name`` until it is empty."""
        rows: list[dict[str, Any]] = []
        params: dict[str, Any] = {"df": df, "pageSize": min(self.settings.page_size, limit)}
        while len(rows) < limit:
            body = self.api("GET", path, params=params)
            if not isinstance(body, dict) or not isinstance(body.get("data"), list):
                raise VendorError(f"NinjaOne answered {path} without a 'data' list.")
            rows.extend(body["data"])
            cursor = (body.get("cursor") or {}).get("name")
            if not cursor or not body["data"]:
                break
            params = {"cursor": cursor, "pageSize": params["pageSize"]}
        return rows[:limit]

    # --- the connector's organizations -----------------------------------------------------------
    def organizations(self) -> list[dict[str, Any]]:
        """The connector's organizations as NinjaOne describes them; refuses when one of them does not exist."""
        found = [org for org in self.paged("/organizations", {}, limit=10_000) if isinstance(org, dict)]
        mine = [org for org in found if int(org.get("id", -1)) in self.settings.organizations]
        missing = sorted(set(self.settings.organizations) - {int(org["id"]) for org in mine})
        if missing:
            raise VendorError(
                f"NinjaOne has no organization {', '.join(map(str, missing))} for this API client: check the "
                "organization ids in the connector's settings (Administration > Organizations).",
                code="unknown_organization",
            )
        return mine

    def device(self, device_id: int) -> dict[str, Any]:
        """The device, if it belongs to one of the connector's organizations; else a refusal that says so."""
        try:
            device = self.api("GET", f"/device/{int(device_id)}")
        except NotFound:
            raise NotFound(
                f"No device {device_id} in NinjaOne; use find_device to get its id.", status=404, code="not_found"
            ) from None
        if not isinstance(device, dict):
            raise VendorError("NinjaOne answered the device lookup with something that is not a device.")
        if int(device.get("organizationId", -1)) not in self.settings.organizations:
            raise OutsideOrganizations(
                f"Device {device_id} belongs to another organization than this connector's "
                f"({', '.join(map(str, self.settings.organizations))}): Gaby neither reads nor acts on it here.",
                status=403,
                code="outside_organizations",
            )
        return device


def _message(body: Any) -> str:
    if isinstance(body, dict):
        return str(body.get("errorMessage") or body.get("error_description") or body.get("error") or "")
    return ""
