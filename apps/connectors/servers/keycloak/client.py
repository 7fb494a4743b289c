"""Keycloak's token endpoint and admin REST API, through the connector's one HTTP seam.

Authentication: the client-credentials grant of a confidential client whose service account holds the
realm-management roles (view-users, manage-users — the least it needs), or the password grant of an
admin user (``admin-cli``). The access token is kept until shortly before it expires, renewed with the
refresh token when there is one, and fetched again when an admin call answers 401 (revoked or expired).
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from apps.connectors.servers.rest import RestClient, VendorError

REFRESH_MARGIN_S = 30  # renew this long before the token says it expires


class NotFound(VendorError):
    pass


@dataclass(frozen=True)
class Settings:
    base_url: str  # https://sso.acme.io (or .../auth on Keycloak < 17)
    realm: str  # the realm whose users Gaby looks at
    auth_realm: str  # the realm the credentials belong to (often "master" for admin users)
    client_id: str
    client_secret: str
    username: str
    password: str
    page_size: int = 100
    timeout: float = 15.0

    @classmethod
    def from_env(cls) -> Settings:
        base_url = os.environ.get("GABY_KC_URL", "").rstrip("/")
        realm = os.environ.get("GABY_KC_REALM", "")
        if not base_url or not realm:
            raise SystemExit("GABY_KC_URL and GABY_KC_REALM must be set: the Keycloak base URL and the realm.")
        username = os.environ.get("GABY_KC_USERNAME", "")
        return cls(
            base_url=base_url,
            realm=realm,
            auth_realm=os.environ.get("GABY_KC_AUTH_REALM") or realm,
            client_id=os.environ.get("GABY_KC_CLIENT_ID") or ("admin-cli" if username else ""),
            client_secret=os.environ.get("GABY_KC_CLIENT_SECRET", ""),
            username=username,
            password=os.environ.get("GABY_KC_PASSWORD", ""),
            page_size=int(os.environ.get("GABY_KC_PAGE_SIZE", "100")),
            timeout=float(os.environ.get("GABY_KC_TIMEOUT_S", "15")),
        )


class Keycloak:
    def __init__(self, settings: Settings, *, backoff: float = 0.25) -> None:
        self.settings = settings
        self.rest = RestClient(vendor="Keycloak", base_url=settings.base_url, timeout=settings.timeout, backoff=backoff)
        self._lock = threading.Lock()
        self._token = ""
        self._expires_at = 0.0
        self._refresh_token = ""
        self.grants = 0  # token requests made (the tests read it)

    # --- tokens -------------------------------------------------------------------------------
    def _grant_form(self) -> dict[str, str]:
        s = self.settings
        if s.username:
            form = {"grant_type": "password", "client_id": s.client_id, "username": s.username, "password": s.password}
            if s.client_secret:
                form["client_secret"] = s.client_secret
            return form
        return {"grant_type": "client_credentials", "client_id": s.client_id, "client_secret": s.client_secret}

    def _request_token(self, form: dict[str, str]) -> dict[str, Any]:
        path = f"/realms/{quote(self.settings.auth_realm, safe='')}/protocol/openid-connect/token"
        response = self.rest.send("POST", path, data=form, retry=True)
        body = self.rest.json(response)
        if response.status_code >= 400 or not isinstance(body, dict) or "access_token" not in body:
            detail = body.get("error_description") or body.get("error") if isinstance(body, dict) else None
            raise VendorError(
                f"Keycloak refused the connector's credentials (HTTP {response.status_code}: {detail or body}). "
                "Check the client id and secret (or user and password) and the realm they belong to.",
                status=response.status_code,
                code="auth_failed",
            )
        self.grants += 1
        return body

    def token(self, *, force: bool = False) -> str:
        with self._lock:
            if not force and self._token and time.time() < self._expires_at - REFRESH_MARGIN_S:
                return self._token
            body: dict[str, Any] | None = None
            if self._refresh_token and not force:
                try:
                    body = self._request_token(
                        {
                            "grant_type": "refresh_token",
                            "refresh_token": self._refresh_token,
                            "client_id": self.settings.client_id,
                            **({"client_secret": self.settings.client_secret} if self.settings.client_secret else {}),
                        }
                    )
                except VendorError:
                    body = None  # refresh token expired or revoked: log in again
            if body is None:
                body = self._request_token(self._grant_form())
            self._token = str(body["access_token"])
            self._expires_at = time.time() + float(body.get("expires_in", 60))
            self._refresh_token = str(body.get("refresh_token") or "")
            return self._token

    # --- admin API ----------------------------------------------------------------------------
    def admin(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        retry: bool = True,
    ) -> Any:
        """Call ``/admin/realms/{realm}{path}``; a 401 gets one fresh token and one more try."""
        url = f"/admin/realms/{quote(self.settings.realm, safe='')}{path}"
        response = self.rest.send_bearer(
            method, url, lambda fresh: self.token(force=fresh), params=params, json=json, retry=retry
        )
        status = response.status_code
        if status == 401:
            raise VendorError("Keycloak rejected a fresh access token (HTTP 401).", status=401, code="auth_failed")
        if status == 403:
            raise VendorError(
                "Keycloak says the connector's account may not do this (HTTP 403). Give its service account the "
                "realm-management roles view-users (reads) and manage-users (writes).",
                status=403,
                code="forbidden",
            )
        body = self.rest.json(response)
        if status == 404:
            raise NotFound(_message(body) or "Not found in Keycloak.", status=404, code="not_found")
        if status >= 400:
            raise VendorError(f"Keycloak answered HTTP {status}: {_message(body) or body}", status=status)
        return body

    def paged(self, path: str, params: dict[str, Any], *, limit: int) -> list[dict[str, Any]]:
        """Follow Keycloak's ``first``/``max`` paging until a short page or ``limit`` items."""
        items: list[dict[str, Any]] = []
        first = 0
        while len(items) < limit:
            size = min(self.settings.page_size, limit - len(items))
            page = self.admin("GET", path, params={**params, "first": first, "max": size})
            if not isinstance(page, list):
                raise VendorError(f"Keycloak answered {path} with {type(page).__name__}, not a list.")
            if len(page) > size:  # an older Keycloak that ignores first/max on this endpoint: it sent everything
                return page[:limit]
            items.extend(page)
            if len(page) < size:
                break
            first += len(page)
        return items[:limit]


def _message(body: Any) -> str:
    if isinstance(body, dict):
        return str(body.get("errorMessage") or body.get("error_description") or body.get("error") or "")
    return ""
