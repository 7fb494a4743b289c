"""HaloPSA's OAuth2 client-credentials token, minted once per API application and shared by its sources.

An MSP connects one Halo API application and maps several Halo clients (companies) to Gaby clients: each
mapped Gaby client holds its own source (apps/tickets/halopsa_mapping.py), but they all present the
same application, so the token is cached per application (token URL, tenant, client id and a digest of the
secret: a changed secret never reuses the old token), not per source. It is kept until two minutes before
Halo's ``expires_in``; a 401 on a call mints a new one once.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Mapping
from typing import Any

from apps.tickets.sources.base import SourceError
from apps.tickets.sources.http import HttpStatusError, SourceHttp

EARLY_RENEWAL_SECONDS = 120

_tokens: dict[tuple[str, str, str, str], tuple[str, float]] = {}
_lock = threading.Lock()


def application_key(config: Mapping[str, Any]) -> tuple[str, str, str, str]:
    secret = str(config.get("client_secret") or "")
    digest = hashlib.sha256(secret.encode()).hexdigest()[:16]
    return (
        token_url(config),
        str(config.get("tenant") or ""),
        str(config.get("client_id") or ""),
        digest,
    )


def token_url(config: Mapping[str, Any]) -> str:
    """Halo's authorisation server: ``<Halo URL>/auth`` unless the API page names another one (``auth_url``)."""
    base = str(config.get("auth_url") or "").rstrip("/") or str(config.get("base_url") or "").rstrip("/") + "/auth"
    return base + "/token"


def token(http: SourceHttp, config: Mapping[str, Any], *, fresh: bool = False) -> str:
    key = application_key(config)
    with _lock:
        cached = _tokens.get(key)
        if cached and not fresh and cached[1] > time.monotonic():
            return cached[0]
    params = {"tenant": key[1]} if key[1] else None
    form = {
        "grant_type": "client_credentials",
        "client_id": key[2],
        "client_secret": str(config.get("client_secret") or ""),
        "scope": "all",
    }
    try:
        answer = http.json("POST", token_url(config), data=form, params=params)
    except HttpStatusError as exc:
        if exc.status in (400, 401):
            raise SourceError(
                f"HaloPSA refused the API application's credentials ({exc}); check the client id and secret "
                "(Configuration → Integrations → HaloPSA API → Applications) and the tenant name."
            ) from exc
        raise
    value = answer.get("access_token") if isinstance(answer, dict) else None
    if not value:
        raise SourceError(f"HaloPSA's token endpoint answered without an access_token: {str(answer)[:200]}")
    lifetime = float(answer.get("expires_in") or 3600)
    with _lock:
        _tokens[key] = (str(value), time.monotonic() + max(lifetime - EARLY_RENEWAL_SECONDS, 1.0))
    return str(value)


def forget(config: Mapping[str, Any]) -> None:
    """Drop the cached token (tests; an operator who rotated the secret)."""
    with _lock:
        _tokens.pop(application_key(config), None)
