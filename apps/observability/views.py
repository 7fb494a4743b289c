"""``/status`` on the MSP portal: how every client's Gaby is doing, for the team running the install (OBS-4); and
``/anomalies``: the same problem hitting several clients at once (MSP-11).

MSP staff only: a client's users see their own pages, never the other clients' figures.
"""

from __future__ import annotations

from django.http import HttpResponse

from apps.accounts.access import msp_staff_required
from apps.core.http import GabyRequest, render_page
from apps.observability import anomalies
from apps.observability.status import page_context


@msp_staff_required
def status_page(request: GabyRequest) -> HttpResponse:
    return render_page(request, "observability/status.html", page_context(), partial="board")


@msp_staff_required
def anomalies_page(request: GabyRequest) -> HttpResponse:
    """MSP-11: the same problem at several clients in a recent window; clients and counts, never a client's text."""
    window = request.GET.get("window", anomalies.DEFAULT_WINDOW)
    if window not in anomalies.WINDOWS:
        window = anomalies.DEFAULT_WINDOW
    try:
        min_clients = max(anomalies.MIN_CLIENTS, int(request.GET.get("min_clients", anomalies.MIN_CLIENTS)))
    except ValueError:
        min_clients = anomalies.MIN_CLIENTS
    context = {
        "report": anomalies.cached_anomalies(window, min_clients=min_clients),
        "windows": list(anomalies.WINDOWS),
        "min_clients": min_clients,
    }
    return render_page(request, "observability/anomalies.html", context, partial="groups")
