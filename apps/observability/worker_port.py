"""A Celery worker's own metrics port, for installs where web and workers run on different hosts (Kubernetes).

``PROMETHEUS_MULTIPROC_DIR`` sums the processes of one host. Where the workers run elsewhere (their own pods), the
web's /metrics cannot see their counters — investigations, gate decisions, model calls are counted on workers — so
``GABY_WORKER_METRICS_PORT`` makes each worker's main process serve its pool's counters (summed over its children
through its own multiprocess directory) on that port, behind the same token and network rules as /metrics. Levels
read at scrape time (queue depth, approvals waiting ...) are left to the web's /metrics, so nothing counts twice.
Served by prometheus-client's WSGI app on the standard library's WSGI server, in a daemon thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import structlog
from celery.signals import worker_ready
from django.conf import settings
from prometheus_client import make_wsgi_app
from prometheus_client.exposition import ThreadingWSGIServer

from apps.observability import endpoint

log = structlog.get_logger(__name__)
_server: WSGIServer | None = None


class _QuietHandler(WSGIRequestHandler):
    """No line on stderr per scrape (the standard handler prints one)."""

    def log_message(self, format: str, *args: Any) -> None:
        return


def guarded_app() -> Callable[..., Iterable[bytes]]:
    """prometheus-client's WSGI app for this host's counters, refusing what /metrics refuses."""
    metrics_app = make_wsgi_app(endpoint.registry(state=False))

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        refused = endpoint.refusal(environ.get("REMOTE_ADDR", ""), environ.get("HTTP_AUTHORIZATION", ""))
        if refused is not None:
            start_response(
                f"{refused.status} {HTTPStatus(refused.status).phrase}",
                [("Content-Type", "text/plain"), *refused.headers],
            )
            return [refused.message.encode()]
        return metrics_app(environ, start_response)

    return app


def serve(port: int, host: str = "0.0.0.0") -> WSGIServer:  # noqa: S104 (scraped from other hosts; guarded above)
    server = make_server(host, port, guarded_app(), ThreadingWSGIServer, handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, daemon=True, name="gaby-worker-metrics").start()
    return server


def _start(**_: Any) -> None:
    global _server
    port = settings.METRICS_WORKER_PORT
    if port and _server is None:
        _server = serve(port)
        log.info("worker_metrics_port", port=port)


def connect() -> None:
    worker_ready.connect(_start, dispatch_uid="observability.worker_port", weak=False)
