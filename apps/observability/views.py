"""``/status`` on the MSP portal: how every client's Gaby is doing, for the team running the install (OBS-4).

MSP staff only: a client's users see their own pages, never the other clients' figures.
"""

from __future__ import annotations

from django.http import HttpResponse

from apps.accounts.access import msp_staff_required
from apps.core.http import GabyRequest, render_page
from apps.observability.status import page_context


@msp_staff_required
def status_page(request: GabyRequest) -> HttpResponse:
    return render_page(request, "observability/status.html", page_context(), partial="board")
