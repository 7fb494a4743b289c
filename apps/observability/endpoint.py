"""``/metrics``: the Prometheus exposition, guarded in production by a bearer token or allowed networks.

With ``PROMETHEUS_MULTIPROC_DIR`` set (``./gaby run`` sets it; see docs/operations/metrics.md) the counters are
summed over every process writing there — each uvicorn worker, each Celery pool child — so one scrape of any web
process sees them all. Without it, a process reports its own counters only (tests, one-process installs).
The state read at scrape time (apps/observability/scrape.py) is added either way.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from prometheus_client import REGISTRY, CollectorRegistry, multiprocess
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

from apps.observability.scrape import StateCollector

PATH = "/metrics"


class _ProcessCollector(Collector):
    """This process's own counters (the default registry), when no multiprocess directory is set."""

    def collect(self):  # type: ignore[no-untyped-def]
        return REGISTRY.collect()


def registry(multiproc_dir: str | None = None, *, state: bool = True) -> CollectorRegistry:
    """What one scrape reports: every process's counters (or this one's) and, with ``state``, the state read now."""
    directory = multiproc_dir or os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    scrape = CollectorRegistry(auto_describe=False)
    if directory:
        multiprocess.MultiProcessCollector(scrape, path=directory)
    else:
        scrape.register(_ProcessCollector())
    if state:
        scrape.register(StateCollector())
    return scrape


@dataclass(frozen=True)
class Refusal:
    status: int
    message: str
    headers: tuple[tuple[str, str], ...] = ()


def refusal(remote_addr: str, authorization: str) -> Refusal | None:
    """Why a scrape from ``remote_addr`` with this ``Authorization`` header may not read the metrics; None when it
    may. Shared by /metrics and the worker's own port (apps/observability/worker_port.py)."""
    token, networks = settings.METRICS_TOKEN, settings.METRICS_ALLOW
    if not token and not networks:
        if settings.IS_PRODUCTION:
            return Refusal(
                403,
                "/metrics is closed in production until you protect it: set GABY_METRICS_TOKEN (Prometheus sends it "
                "as a bearer token) or GABY_METRICS_ALLOW (the networks Prometheus scrapes from).\n",
            )
        return None
    if networks:
        try:
            address = ipaddress.ip_address(remote_addr)
        except ValueError:
            address = None
        if address is None or not any(address in network for network in networks):
            return Refusal(403, "This address may not read /metrics: add its network to GABY_METRICS_ALLOW.\n")
    if token:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(value.strip().encode(), token.encode()):
            return Refusal(
                401,
                "/metrics needs the bearer token set in GABY_METRICS_TOKEN (Authorization: Bearer <token>).\n",
                (("WWW-Authenticate", 'Bearer realm="gaby-metrics"'),),
            )
    return None


def serve(request: HttpRequest) -> HttpResponse:
    if request.method not in ("GET", "HEAD"):
        response = HttpResponse("Read /metrics with GET.\n", status=405, content_type="text/plain")
        response["Allow"] = "GET, HEAD"
        return response
    refused = refusal(request.META.get("REMOTE_ADDR", ""), request.META.get("HTTP_AUTHORIZATION", ""))
    if refused is not None:
        response = HttpResponse(refused.message, status=refused.status, content_type="text/plain")
        for name, value in refused.headers:
            response[name] = value
        return response
    encoder, content_type = choose_encoder(request.META.get("HTTP_ACCEPT", ""))
    return HttpResponse(encoder(registry()), content_type=content_type)
