"""Autotask's webhook deactivation notice: ``POST /api/v1/sources/{id}/webhook/autotask/deactivated/{token}``.

Autotask requires a deactivation URL beside the webhook URL and calls it when the webhook is deleted or deactivated
(also when the resource who created it is). Callouts themselves arrive at the help desks' webhook route
(``/api/v1/sources/{id}/webhook/autotask``, apps/tickets/api_desks.py, signed with ``X-Hook-Signature``). The
notice's token is derived from the source's webhook secret (apps/tickets/sources/autotask/webhooks.py), so a
stranger cannot mark a webhook gone; a known one is recorded on the source, which keeps polling.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.http import HttpRequest
from django.utils import timezone
from ninja import Router, Status

from apps.tickets import services
from apps.tickets.api_desks import Problem
from apps.tickets.models import SourceKind, TicketSource
from apps.tickets.sources.autotask.webhooks import deactivation_token
from apps.tickets.sources.vendor import constant_equal

router = Router(tags=["Sources"])


@router.post(
    "/sources/{source_id}/webhook/autotask/deactivated/{token}",
    auth=None,
    response={200: Problem, 401: Problem, 404: Problem},
    summary="Receive Autotask's notice that a source's ticket webhook was deactivated",
    description=(
        "Gaby registers this URL as the webhook's deactivation URL (`gaby connect-autotask --register-webhooks`). "
        "The source keeps polling; register the webhook again to be called on changes."
    ),
)
def autotask_webhook_deactivated(request: HttpRequest, source_id: UUID, token: str) -> Status[dict[str, Any]]:
    client = request.tenant  # type: ignore[attr-defined]
    source = TicketSource.objects.filter(pk=source_id, kind=SourceKind.AUTOTASK).first()
    if source is None:
        return Status(404, {"detail": "No Autotask source with this id in this client."})
    config = services.source_config(client=client, source=source)
    secret = str(config.get("webhook_secret") or "")
    if not secret or not constant_equal(token, deactivation_token(secret)):
        return Status(401, {"detail": "This is not the deactivation URL Gaby registered for this source."})
    moment = f"{timezone.now():%Y-%m-%d %H:%M} UTC"
    services.update_source_config(
        client=client,
        source=source,
        config={key: value for key, value in config.items() if key != "webhook_id"} | {"webhook_deactivated": moment},
    )
    return Status(200, {"detail": f"Recorded: the webhook was deactivated at {moment}; the source keeps polling."})
