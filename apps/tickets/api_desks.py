"""Webhook endpoints of the help-desk sources (Zendesk, Freshdesk, GitHub, Linear), one URL per source.

``POST /api/v1/sources/{id}/webhook/{kind}``: each vendor signs its own way (the adapter checks it);
a wrong or missing signature is 401, a body that cannot be read 400 naming the field (and quarantined),
a delivery with nothing to ingest (a ping, a pull request) 202, and a vendor API that fails while Gaby
reads the ticket 502/503 so the vendor retries the delivery.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from django.http import HttpRequest
from ninja import Router, Schema, Status

from apps.tickets import services
from apps.tickets.models import TicketSource
from apps.tickets.sources.base import (
    PayloadError,
    SignatureError,
    SourceAdapter,
    SourceError,
    TransientSourceError,
    UnsupportedOperation,
)
from apps.tickets.sources.registry import ADAPTERS
from apps.tickets.sources.vendor import HttpAdapter, IgnoredDelivery

router = Router(tags=["Sources"])


class Accepted(Schema):
    ticket_id: UUID
    created: bool
    new_messages: int


class Problem(Schema):
    detail: str
    field: str = ""


def desk_kinds() -> list[str]:
    """Help desks whose adapter receives webhooks (it overrides ``verify_webhook``)."""
    return sorted(
        kind
        for kind, adapter in ADAPTERS.items()
        if issubclass(adapter, HttpAdapter) and adapter.verify_webhook is not SourceAdapter.verify_webhook
    )


WEBHOOK_KINDS = desk_kinds()


@router.post(
    "/sources/{source_id}/webhook/{kind}",
    auth=None,
    response={200: Accepted, 202: Problem, 400: Problem, 401: Problem, 404: Problem, 502: Problem, 503: Problem},
    summary="Receive a help desk's webhook (Zendesk, Freshdesk, GitHub, Linear, HaloPSA)",
    description=(
        "Point the help desk's webhook at this URL with the source's id and kind. Zendesk: "
        "`X-Zendesk-Webhook-Signature` over timestamp + body. Freshdesk: the shared secret in "
        "`X-Gaby-Webhook-Secret`. GitHub: `X-Hub-Signature-256`. Linear: `Linear-Signature`. HaloPSA: the "
        "webhook's Basic authentication password (or Bearer token) is the source's webhook secret. "
        "Replaying a delivery is harmless: ingestion is idempotent."
    ),
)
def receive_desk_webhook(request: HttpRequest, source_id: UUID, kind: str) -> Status[dict[str, Any]]:
    if kind not in WEBHOOK_KINDS:
        return Status(404, {"detail": f"No help-desk webhook of kind {kind!r}; known: {', '.join(WEBHOOK_KINDS)}."})
    return answer_delivery(request, source_id, kind, request.headers)


def answer_delivery(
    request: HttpRequest, source_id: UUID, kind: str, headers: Mapping[str, str]
) -> Status[dict[str, Any]]:
    """Verify, parse and ingest one delivery to an enabled source of ``kind``; the status says what happened."""
    source = TicketSource.objects.filter(pk=source_id, kind=kind, enabled=True).first()
    if source is None:
        return Status(404, {"detail": f"No enabled {ADAPTERS[kind].label} source with this id in this client."})
    try:
        result = services.receive_webhook(
            client=request.tenant,  # type: ignore[attr-defined]
            source=source,
            body=request.body,
            headers=headers,
        )
    except SignatureError as exc:
        return Status(401, {"detail": str(exc)})
    except PayloadError as exc:
        return Status(400, {"detail": str(exc), "field": exc.field})
    except IgnoredDelivery as exc:
        return Status(202, {"detail": f"Nothing to ingest: {exc}"})
    except UnsupportedOperation as exc:
        return Status(400, {"detail": str(exc)})
    except TransientSourceError as exc:
        return Status(503, {"detail": f"{source.get_kind_display()} is unavailable, retry later: {exc}"})
    except SourceError as exc:
        return Status(502, {"detail": f"Reading the ticket from {source.get_kind_display()} failed: {exc}"})
    return Status(
        200, {"ticket_id": result.ticket.pk, "created": result.created, "new_messages": len(result.new_messages)}
    )
