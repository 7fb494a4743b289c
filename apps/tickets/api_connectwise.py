"""ConnectWise PSA callbacks: ``POST /api/v1/sources/{id}/callback/connectwise/{secret}``.

Manage posts a callback to the URL registered at ``/system/callbacks`` with no header Gaby can choose, so the
source's callback secret is the URL's last segment (keep the URL as secret as the keys). The answers are the help
desks' webhook answers (apps/tickets/api_desks.py): 401 for a wrong secret, 400 naming the field of a body that
cannot be read (kept in quarantine), 202 for a delivery with nothing to ingest (another company's ticket, a
deletion), 502/503 when reading the ticket back from Manage fails so Manage retries.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.http import HttpRequest
from ninja import Router, Status

from apps.tickets.api_desks import Accepted, Problem, answer_delivery
from apps.tickets.sources.connectwise.adapter import CALLBACK_SECRET_HEADER

router = Router(tags=["Sources"])


@router.post(
    "/sources/{source_id}/callback/connectwise/{secret}",
    auth=None,
    response={200: Accepted, 202: Problem, 400: Problem, 401: Problem, 404: Problem, 502: Problem, 503: Problem},
    summary="Receive a ConnectWise PSA callback",
    description=(
        "Register this URL at ConnectWise (`POST /system/callbacks`, type Ticket, level Company; `gaby "
        "connect-connectwise --register-callbacks` does it) with the source's id and callback secret. Gaby reads "
        "the ticket named by the callback's `ID` again through the API. Replaying a delivery is harmless."
    ),
)
def receive_connectwise_callback(request: HttpRequest, source_id: UUID, secret: str) -> Status[dict[str, Any]]:
    headers = {**request.headers, CALLBACK_SECRET_HEADER: secret}
    return answer_delivery(request, source_id, "connectwise", headers)
