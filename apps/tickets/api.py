"""The tickets app's part of the API: the generic inbound webhook (SRC-6)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.http import HttpRequest
from ninja import Router, Schema, Status

from apps.tickets import services
from apps.tickets.api_autotask import router as autotask_deactivations
from apps.tickets.api_connectwise import router as connectwise_callbacks
from apps.tickets.api_desks import router as desks
from apps.tickets.models import SourceKind, TicketSource
from apps.tickets.sources.base import PayloadError, SignatureError
from apps.tickets.sources.webhook.adapter import SIGNATURE_HEADER, WebhookTicket

router = Router(tags=["Sources"])


class Accepted(Schema):
    ticket_id: UUID
    created: bool
    new_messages: int


class Problem(Schema):
    detail: str
    field: str = ""


def _inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """Pydantic's $defs inlined, so the schema reads the same inside the OpenAPI document."""
    defs = schema.pop("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/$defs/"):
                return walk(dict(defs[ref.removeprefix("#/$defs/")]))
            return {key: walk(value) for key, value in node.items()}
        if isinstance(node, list):
            return [walk(value) for value in node]
        return node

    return walk(schema)


WEBHOOK_BODY = {
    "required": True,
    "content": {"application/json": {"schema": _inline_refs(WebhookTicket.model_json_schema())}},
}


@router.post(
    "/sources/{source_id}/webhook",
    auth=None,
    response={200: Accepted, 400: Problem, 401: Problem, 404: Problem, 422: Problem},
    summary="Deliver a ticket from any system (generic webhook)",
    description=(
        f"Sign the raw body: `{SIGNATURE_HEADER}: sha256=<hex HMAC-SHA256 of the body under the source's secret>`. "
        "Sending the same ticket again updates it; messages are appended once per `external_id`. "
        "A body that is not valid JSON or does not match the schema (dates need a time zone and lie between 1970 "
        "and 2200) is answered 400 naming the field and kept in the source's quarantine; one that parses but "
        "cannot be stored is answered 422 and kept there too."
    ),
    openapi_extra={"requestBody": WEBHOOK_BODY},
)
def receive_webhook(request: HttpRequest, source_id: UUID) -> Status[dict[str, Any]]:
    source = TicketSource.objects.filter(pk=source_id, kind=SourceKind.WEBHOOK, enabled=True).first()
    if source is None:
        return Status(404, {"detail": "No enabled webhook source with this id in this client."})
    try:
        result = services.receive_webhook(
            client=request.tenant,  # type: ignore[attr-defined]
            source=source,
            body=request.body,
            headers=request.headers,
        )
    except SignatureError as exc:
        return Status(401, {"detail": str(exc)})
    except PayloadError as exc:
        return Status(400, {"detail": str(exc), "field": exc.field})
    except services.UnstorablePayload as exc:
        return Status(422, {"detail": str(exc)})
    return Status(
        200, {"ticket_id": result.ticket.pk, "created": result.created, "new_messages": len(result.new_messages)}
    )


def _mount_help_desks() -> None:
    router.add_router("", desks)
    router.add_router("", connectwise_callbacks)
    router.add_router("", autotask_deactivations)


_mount_help_desks()
# The tickets themselves (list, get, create, reply, update) live in their own module.
router.add_router("", "apps.tickets.api_tickets.router")
