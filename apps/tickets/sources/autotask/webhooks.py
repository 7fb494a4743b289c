"""Autotask PSA, pushed: the ticket webhook Gaby registers, the callouts it verifies, and reading a ticket again.

Autotask's REST API offers webhooks per entity (``TicketWebhooks``): Gaby creates one per source with a webhook URL
and a deactivation URL (both required), a secret key (64 characters at most), create and update events, the ticket
fields whose change triggers a callout (``TicketWebhooks/{id}/Fields``, field ids from the ``fieldID`` picklist of
``TicketWebhookFields``) plus ``companyID`` always in the payload, and the API user's own resource excluded
(``TicketWebhooks/{id}/ExcludedResources``) so Gaby's own notes and patches do not call it back.

A callout is a POST of ``{"Action", "Guid", "EntityType", "Id", "Fields", "EventTime", "SequenceNumber",
"PersonID"}`` with ``X-Hook-Signature: sha1=<base64 HMAC-SHA1 of the body with the secret key>``. Gaby checks the
signature (a wrong one is refused before anything is read), takes the ticket's id and reads the ticket again through
the API — the same ``_ticket`` the poll uses, so a callout and a poll ingest alike — rather than trusting the payload.
Autotask delivers again when an answer is slow or lost: a callout already ingested (the same body) is answered as
nothing to ingest without asking Autotask again. Polling stays on as the safety net for a callout never sent.

The same parser re-reads a quarantined ticket: a ticket the poll could not read is kept as Autotask's ticket
record, and retrying it (apps/tickets/quarantine_retry.py) reads that ticket again by its id.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from redis import RedisError

from apps.core.redis_clients import shared_client
from apps.tickets.normalized import NormalizedTicket
from apps.tickets.sources.autotask.reader import AutotaskReader
from apps.tickets.sources.base import PayloadError, SignatureError, SourceError
from apps.tickets.sources.http import HttpStatusError
from apps.tickets.sources.vendor import IgnoredDelivery, check_secret, constant_equal, load_json

SIGNATURE_HEADER = "X-Hook-Signature"
# The ticket fields whose change calls Gaby: what Gaby reads of a ticket. lastActivityDate moves when a note is added.
SUBSCRIBED_FIELDS = ("status", "priority", "title", "description", "assignedResourceID", "lastActivityDate")
ALWAYS_FIELDS = ("companyID",)  # in every payload, so another company's callout is recognisable in the logs
DELIVERY_SECONDS = 7 * 86400  # how long a callout is remembered: longer than Autotask keeps retrying one
MAX_SECRET = 64  # Autotask's SecretKey is string(64)


def signature(secret: str, body: bytes) -> str:
    """What Autotask sends in ``X-Hook-Signature`` for ``body``."""
    digest = hmac.new(secret.encode(), body, hashlib.sha1).digest()
    return "sha1=" + base64.b64encode(digest).decode()


def deactivation_token(secret: str) -> str:
    """The last path segment of the deactivation URL: derived from the secret, so the URL does not carry it."""
    return hmac.new(secret.encode(), b"autotask-deactivation", hashlib.sha256).hexdigest()[:32]


class AutotaskWebhooks(AutotaskReader):
    """Callouts in (``verify_webhook``, ``parse_webhook``) and the webhook's registration out."""

    def verify_webhook(self, body: bytes, headers: Mapping[str, str]) -> None:
        secret = check_secret(str(self.config.get("webhook_secret", "")), self.label)
        given = _header(headers, SIGNATURE_HEADER)
        if not given:
            raise SignatureError(
                f"No {SIGNATURE_HEADER}: Autotask signs every callout of a webhook with a secret key; register the "
                "webhook with `gaby connect-autotask --register-webhooks`."
            )
        if not constant_equal(given, signature(secret, body)):
            raise SignatureError(f"The {SIGNATURE_HEADER} does not match this source's webhook secret key.")

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> NormalizedTicket:
        data = load_json(body)
        if not isinstance(data, dict):
            raise PayloadError("An Autotask callout is one JSON object.", field="(body)")
        if "EntityType" not in data and isinstance(data.get("id"), int) and "companyID" in data:
            return self._read_again(int(data["id"]))  # a ticket record the poll quarantined, retried
        if str(data.get("EntityType") or "").lower() != "ticket":
            raise PayloadError(
                f"A callout for entity {data.get('EntityType')!r}: Gaby registers Ticket webhooks only.",
                field="EntityType",
            )
        ticket_id = data.get("Id")
        if not isinstance(ticket_id, int) or isinstance(ticket_id, bool) or ticket_id <= 0:
            raise PayloadError("No ticket id: an Autotask ticket callout carries the ticket's Id.", field="Id")
        if str(data.get("Action") or "").lower() == "delete":
            raise IgnoredDelivery(f"ticket {ticket_id} was deleted in Autotask; Gaby keeps its copy.")
        shown: dict[str, Any] = data["Fields"] if isinstance(data.get("Fields"), dict) else {}
        if isinstance(shown.get("companyID"), int) and shown["companyID"] != self.at_company_id:
            # Autotask calls every webhook for every ticket of the database: another company's is not read at all.
            raise IgnoredDelivery(f"ticket {ticket_id} belongs to Autotask company {shown['companyID']}.")
        if not _header(headers, SIGNATURE_HEADER):
            return self._read_again(ticket_id)  # a quarantined callout retried: no delivery to deduplicate
        key = f"gaby:autotask:callout:{self.source_id}:{hashlib.sha256(body).hexdigest()}"
        redis = shared_client(settings.REDIS_URL)
        try:
            first = redis.set(key, 1, nx=True, ex=DELIVERY_SECONDS)
        except RedisError:  # no memory of deliveries: reading a repeat again is harmless (ingestion is idempotent)
            return self._read_again(ticket_id)
        if not first:
            raise IgnoredDelivery(f"a repeated delivery of the callout for ticket {ticket_id}, already received.")
        try:
            return self._read_again(ticket_id)
        except IgnoredDelivery:
            raise
        except BaseException:  # not read: Autotask's next delivery of it must be read, not skipped as a repeat
            redis.delete(key)
            raise

    def _read_again(self, ticket_id: int) -> NormalizedTicket:
        item = self._item("Tickets", ticket_id)
        try:
            return self._ticket(item)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise PayloadError(f"Autotask ticket {ticket_id} could not be read: {exc}", field="Id") from exc

    # --- registration --------------------------------------------------------------------------
    def _field_ids(self, names: tuple[str, ...]) -> dict[str, int]:
        picklist = self.picklist("TicketWebhookFields", "fieldID")
        by_name = {label.lower(): value for value, label in picklist.items()}
        missing = [name for name in names if name.lower() not in by_name]
        if missing:
            raise SourceError(f"Autotask offers no webhook field {', '.join(missing)} for tickets.")
        return {name: by_name[name.lower()] for name in names}

    def register_webhook(self, url: str, deactivation_url: str, *, name: str = "Gaby") -> int:
        """Create the source's ticket webhook at Autotask, with its fields and the API user excluded; its id."""
        secret = str(self.config.get("webhook_secret") or "")
        if not 10 <= len(secret) <= MAX_SECRET:
            raise SourceError("The source's webhook_secret must be 10 to 64 characters (Autotask's SecretKey).")
        fields = self._field_ids(SUBSCRIBED_FIELDS + ALWAYS_FIELDS)
        me = self._resource("userName", self.username)
        body = {
            "isActive": True,
            "name": name[:50],
            "webhookUrl": url,
            "deactivationUrl": deactivation_url,
            "secretKey": secret,
            "isSubscribedToCreateEvents": True,
            "isSubscribedToUpdateEvents": True,
            "isSubscribedToDeleteEvents": False,
            "sendThresholdExceededNotification": True,
            "notificationEmailAddress": str(me.get("email") or "")[:150],
        }
        made = self.writer.json("POST", "/TicketWebhooks", json=body)
        if not isinstance(made, dict) or not isinstance(made.get("itemId"), int):
            raise SourceError("Autotask accepted the webhook but did not say its id.")
        webhook_id = int(made["itemId"])
        try:
            for name_, field_id in fields.items():
                always = name_ in ALWAYS_FIELDS
                self.writer.json(
                    "POST",
                    f"/TicketWebhooks/{webhook_id}/Fields",
                    json={
                        "webhookID": webhook_id,
                        "fieldID": field_id,
                        "isSubscribedField": not always,
                        "isDisplayAlwaysField": always,
                    },
                )
            self.writer.json(
                "POST",
                f"/TicketWebhooks/{webhook_id}/ExcludedResources",
                json={"webhookID": webhook_id, "resourceID": int(me["id"])},
            )
        except SourceError:
            self.unregister_webhook(webhook_id)  # half a webhook would call for nothing, or for Gaby's own writes
            raise
        return webhook_id

    def unregister_webhook(self, webhook_id: int) -> bool:
        """Delete the webhook at Autotask; False when Autotask no longer has it."""
        try:
            self.writer.json("DELETE", f"/TicketWebhooks/{webhook_id}")
        except HttpStatusError as exc:
            if exc.status == 404:
                return False
            raise
        return True


def _header(headers: Mapping[str, str], name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name.lower():
            return str(value)
    return ""
