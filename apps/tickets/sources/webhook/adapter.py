"""The generic inbound webhook (SRC-6): any system POSTs a signed JSON ticket to Gaby.

Signature: ``X-Gaby-Signature: sha256=<hex>``, the HMAC-SHA256 of the raw request body under the
source's secret (sealed config key ``secret``). Replaying a delivery is harmless: ingestion is
idempotent on ``external_id`` and on each message's ``external_id``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from apps.core.edges import EdgeDatetime, EdgeError, load_json
from apps.tickets.normalized import NormalizedContact, NormalizedMessage, NormalizedTicket
from apps.tickets.sources.base import PayloadError, SignatureError, SourceAdapter

SIGNATURE_HEADER = "X-Gaby-Signature"


class WebhookContact(BaseModel):
    email: str = Field("", max_length=254, description="The customer's email address.")
    name: str = Field("", max_length=200)
    external_id: str = Field("", max_length=200, description="The customer's id in your system.")


class WebhookMessage(BaseModel):
    external_id: str = Field(..., min_length=1, max_length=500, description="Your id for the message; dedups.")
    body: str = Field(..., description="Plain text.")
    author: str = Field("", max_length=300)
    kind: Literal["public_reply", "internal_note"] = "public_reply"
    direction: Literal["inbound", "outbound"] = "inbound"
    created_at: EdgeDatetime | None = None


class WebhookTicket(BaseModel):
    """One ticket as your system sees it now. Sending it again updates it; messages are appended once."""

    model_config = ConfigDict(extra="ignore")

    external_id: str = Field(..., min_length=1, max_length=300, description="Your id for the ticket.")
    title: str = Field(..., min_length=1, max_length=500)
    body: str = ""
    status: Literal["new", "open", "pending", "on_hold", "solved", "closed"] | None = None
    priority: Literal["low", "normal", "high", "urgent"] | None = None
    tags: list[str] | None = Field(None, max_length=30)
    sla_due_at: EdgeDatetime | None = Field(None, description="ISO 8601 with a time zone, between 1970 and 2200.")
    contact: WebhookContact | None = None
    messages: list[WebhookMessage] = Field(default_factory=list, max_length=500)


def signature_for(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def describe(error: ValidationError) -> tuple[str, str]:
    """(field, message) of the first problem, in words a sender can act on."""
    first = error.errors()[0]
    field = ".".join(str(part) for part in first.get("loc", ())) or "(body)"
    return field, f"field '{field}': {first.get('msg', 'invalid')}"


class WebhookAdapter(SourceAdapter):
    kind: ClassVar[str] = "webhook"
    label: ClassVar[str] = "Generic webhook"
    can_poll: ClassVar[bool] = False

    def verify_webhook(self, body: bytes, headers: Mapping[str, str]) -> None:
        secret = str(self.config.get("secret", ""))
        if not secret:
            raise SignatureError("This webhook source has no secret configured; set one before sending deliveries.")
        given = headers.get(SIGNATURE_HEADER, "")
        if not given:
            raise SignatureError(f"Missing {SIGNATURE_HEADER} header (sha256=<hex HMAC-SHA256 of the body>).")
        if not hmac.compare_digest(given.strip().lower(), signature_for(secret, body)):
            raise SignatureError(f"{SIGNATURE_HEADER} does not match the body signed with this source's secret.")

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> NormalizedTicket:
        try:
            data: Any = load_json(body, nul="strip")
        except EdgeError as exc:
            raise PayloadError(str(exc), field="(body)") from exc
        try:
            payload = WebhookTicket.model_validate(data)
        except ValidationError as exc:
            field, message = describe(exc)
            raise PayloadError(message, field=field) from exc
        contact = payload.contact
        return NormalizedTicket(
            external_id=payload.external_id,
            title=payload.title,
            body=payload.body,
            contact=NormalizedContact(email=contact.email, name=contact.name, external_id=contact.external_id)
            if contact
            else None,
            priority=payload.priority,
            status=payload.status,
            sla_due_at=payload.sla_due_at,
            tags=tuple(payload.tags) if payload.tags is not None else None,
            messages=tuple(
                NormalizedMessage(
                    external_id=m.external_id,
                    body=m.body,
                    author_label=m.author,
                    kind=m.kind,
                    direction=m.direction,
                    created_at=m.created_at,
                )
                for m in payload.messages
            ),
        )
