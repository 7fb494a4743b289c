"""httpx clients that obey the outbound-URL policy (apps/core/outbound.py) on every request, redirects included.

The transport checks each request's URL — every redirect hop arrives here as a request of its own — and then
connects to the very address it checked: the request goes to ``https://<that IP>/…`` with the original ``Host``
header and the original name for TLS (httpcore's ``sni_hostname`` extension), so the certificate is still
verified against the name. A DNS answer that changes between the check and the connection (rebinding) is never
asked for. Each (name, address) pair gets its own connection pool, so a kept-alive connection is only reused for
the name its TLS session was verified for. Proxies from the environment are not used: they would resolve the
name themselves.

The asynchronous transport also serves httpx2, the fork of httpx the mcp SDK's HTTP transport is built on (same
API under another module name): ``AsyncPinnedTransport(http=httpx2)``.
"""

from __future__ import annotations

import threading
from functools import partial
from typing import Any

import anyio.to_thread
import httpx

from apps.core.outbound import OutboundRefused, Unresolvable, VettedURL, check_url

MAX_ADDRESSES = 4  # a name with many addresses: try the first few before giving up on connecting


def vet(url: httpx.URL, *, http: Any = httpx) -> VettedURL:
    """Check the URL about to be requested; a name that does not resolve is a connection error, as usual."""
    try:
        return check_url(str(url), require_address=True)
    except Unresolvable as exc:
        raise http.ConnectError(str(exc)) from None


def _pinned(request: httpx.Request, vetted: VettedURL, address: str, *, http: Any = httpx) -> httpx.Request:
    """The same request sent to ``address``; Host (set when the request was built) and SNI keep the name."""
    extensions = dict(request.extensions)
    if vetted.scheme == "https":
        extensions["sni_hostname"] = vetted.host
    return http.Request(
        request.method,
        request.url.copy_with(host=address),
        headers=request.headers,
        stream=request.stream,
        extensions=extensions,
    )


class PinnedTransport(httpx.BaseTransport):
    """``httpx.HTTPTransport`` options (verify, cert, limits, ...) apply to each pinned pool."""

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._pools: dict[tuple[str, str, int, str], httpx.HTTPTransport] = {}
        self._lock = threading.Lock()

    def _pool(self, vetted: VettedURL, address: str) -> httpx.HTTPTransport:
        key = (vetted.scheme, vetted.host, vetted.port, address)
        with self._lock:
            if key not in self._pools:
                self._pools[key] = httpx.HTTPTransport(**self._options)
            return self._pools[key]

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        vetted = vet(request.url)
        failure: httpx.ConnectError | None = None
        for address in vetted.addresses[:MAX_ADDRESSES]:
            try:
                return self._pool(vetted, address).handle_request(_pinned(request, vetted, address))
            except httpx.ConnectError as exc:  # nothing was sent yet: the next address may answer
                failure = exc
        raise failure or httpx.ConnectError(f"{vetted.host} has no address to connect to.")

    def close(self) -> None:
        with self._lock:
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.close()


class AsyncPinnedTransport(httpx.AsyncBaseTransport):
    """The same for ``httpx.AsyncClient`` (or, with ``http=httpx2``, ``httpx2.AsyncClient``); the lookup runs in a
    worker thread, off the event loop."""

    def __init__(self, *, http: Any = httpx, **options: Any) -> None:
        self._http = http
        self._options = options
        self._pools: dict[tuple[str, str, int, str], Any] = {}

    def _pool(self, vetted: VettedURL, address: str) -> Any:
        key = (vetted.scheme, vetted.host, vetted.port, address)
        if key not in self._pools:  # one event loop: no lock needed
            self._pools[key] = self._http.AsyncHTTPTransport(**self._options)
        return self._pools[key]

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        http = self._http
        vetted = await anyio.to_thread.run_sync(partial(vet, request.url, http=http))
        failure: Exception | None = None
        for address in vetted.addresses[:MAX_ADDRESSES]:
            try:
                pinned = _pinned(request, vetted, address, http=http)
                return await self._pool(vetted, address).handle_async_request(pinned)
            except http.ConnectError as exc:
                failure = exc
        raise failure or http.ConnectError(f"{vetted.host} has no address to connect to.")

    async def aclose(self) -> None:
        pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            await pool.aclose()


def client(*, verify: Any = True, **kwargs: Any) -> httpx.Client:
    """An ``httpx.Client`` (same keyword arguments) whose every request obeys the policy.

    A refused URL — the first one or any redirect hop — raises ``OutboundRefused`` from the request call."""
    return httpx.Client(transport=PinnedTransport(verify=verify), **kwargs)


def async_client(*, verify: Any = True, **kwargs: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=AsyncPinnedTransport(verify=verify), **kwargs)


__all__ = ["AsyncPinnedTransport", "OutboundRefused", "PinnedTransport", "async_client", "client", "vet"]
