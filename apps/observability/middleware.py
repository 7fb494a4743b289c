"""Counts every HTTP request by method, route name and status class, and answers ``/metrics``.

Placed right after the health probes, ahead of tenant routing and host checks: Prometheus scrapes with whatever
Host header its target names. The route is the URL pattern's name (``tickets:inbox``), never the path, so the
label stays bounded; a static file counts as ``static`` and a request no pattern matched as ``unmatched``.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from apps.observability import endpoint, metrics
from apps.observability.labels import status_class


class MetricsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        if request.path == endpoint.PATH:
            response, route = endpoint.serve(request), "metrics"
        else:
            response = self.get_response(request)
            match = getattr(request, "resolver_match", None)
            if match is not None:
                route = match.view_name or match.route or "unnamed"
            elif request.path.startswith(settings.STATIC_URL):
                route = "static"  # WhiteNoise answers these before any URL pattern is tried
            else:
                route = "unmatched"
        method = request.method if request.method in KNOWN_METHODS else "OTHER"
        metrics.HTTP_REQUESTS.labels(method, route, status_class(response.status_code)).inc()
        metrics.HTTP_LATENCY.labels(method, route).observe(time.perf_counter() - started)
        return response


KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
