"""The Autotask stand-in's ticket webhooks: ``TicketWebhooks`` with its ``Fields`` and ``ExcludedResources``, and the
callouts Autotask posts when a ticket changes (sandbox/autotask.py serves them).

As Autotask documents them: a webhook needs a ``webhookUrl`` and a ``deactivationUrl`` (500 characters each), a
``name`` (50), a ``secretKey`` (64); it is ready (``isReady``) once at least one field is subscribed; a field is
named by its ``fieldID`` (the ``fieldID`` picklist of ``TicketWebhookFields``), subscribed (its change triggers a
callout) or display-always (in every payload). A change made by an excluded resource triggers nothing. A callout is
``{"Action", "Guid", "EntityType", "Id", "Fields", "EventTime", "SequenceNumber", "PersonID"}`` signed with
``X-Hook-Signature: sha1=<base64 HMAC-SHA1 of the body with the secret key>``. Deleting a webhook posts to its
deactivation URL.

Callouts are queued as tickets change and posted by ``deliver_webhooks`` (a test calls it, or ``start_delivering``
runs it in a thread for the demo); one answered other than 2xx stays queued and is posted again, as Autotask
retries; ``redeliver_last`` posts the last callout again byte for byte (Autotask's answer was lost).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sandbox.autotask_records import Invalid, now
from sandbox.autotask_seed import PICKLISTS

Sender = Callable[[str, bytes, dict[str, str]], int]
WEBHOOK_FIELDS = {"isActive", "name", "webhookUrl", "deactivationUrl", "secretKey", "isSubscribedToCreateEvents",
                  "isSubscribedToUpdateEvents", "isSubscribedToDeleteEvents", "sendThresholdExceededNotification",
                  "notificationEmailAddress"}  # fmt: skip
LIMITS = {"name": 50, "webhookUrl": 500, "deactivationUrl": 500, "secretKey": 64, "notificationEmailAddress": 150}


def sign(secret: str, body: bytes) -> str:
    return "sha1=" + base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha1).digest()).decode()


def _post(url: str, body: bytes, headers: dict[str, str]) -> int:
    import httpx

    return httpx.post(url, content=body, headers=headers, timeout=10).status_code


@dataclass
class Callout:
    url: str
    body: bytes
    headers: dict[str, str]
    attempts: int = 0


def _keyed(body: Any) -> dict[str, Any]:
    """Autotask reads a body's field names in any case: keep Autotask's own spelling of each."""
    if not isinstance(body, dict):
        raise Invalid("The body must be one object.")
    spelled = {name.lower(): name for name in (*WEBHOOK_FIELDS, "webhookID", "fieldID", "resourceID",
                                               "isSubscribedField", "isDisplayAlwaysField")}  # fmt: skip
    return {spelled.get(str(key).lower(), str(key)): value for key, value in body.items()}


class TicketWebhooks:
    lock: threading.RLock
    tickets: dict[int, dict[str, Any]]
    resources: dict[int, dict[str, Any]]

    def init_webhooks(self) -> None:
        self.webhooks: dict[int, dict[str, Any]] = {}
        self.webhook_fields: dict[int, dict[str, Any]] = {}
        self.excluded_resources: dict[int, dict[str, Any]] = {}
        self.outbox: list[Callout] = []
        self.delivered: list[tuple[str, int]] = []
        self._last: Callout | None = None
        self._sequence = 0
        self._stop_delivering = threading.Event()

    # --- the entity ----------------------------------------------------------------------------
    def create_webhook(self, body: Any) -> dict[str, Any]:
        fields = _keyed(body)
        unknown = sorted(set(fields) - WEBHOOK_FIELDS - {"id"})
        if unknown:
            raise Invalid(f"TicketWebhooks has no field {', '.join(unknown)}.")
        for required in ("name", "webhookUrl", "deactivationUrl", "secretKey"):
            if not isinstance(fields.get(required), str) or not fields[required].strip():
                raise Invalid(f"{required} is required.")
        for name, limit in LIMITS.items():
            if len(str(fields.get(name) or "")) > limit:
                raise Invalid(f"{name} is at most {limit} characters.")
        webhook_id = max(self.webhooks, default=0) + 1
        webhook = {
            "id": webhook_id,
            "isActive": fields.get("isActive") is True,
            "isReady": False,
            "webhookGUID": str(uuid.uuid4()),
            "ownerResourceID": self.api_resource["id"],
            "isSubscribedToCreateEvents": fields.get("isSubscribedToCreateEvents") is True,
            "isSubscribedToUpdateEvents": fields.get("isSubscribedToUpdateEvents") is True,
            "isSubscribedToDeleteEvents": fields.get("isSubscribedToDeleteEvents") is True,
            **{key: fields.get(key) for key in ("name", "webhookUrl", "deactivationUrl", "secretKey")},
            "sendThresholdExceededNotification": fields.get("sendThresholdExceededNotification") is True,
            "notificationEmailAddress": fields.get("notificationEmailAddress") or "",
        }
        self.webhooks[webhook_id] = webhook
        return webhook

    @property
    def api_resource(self) -> dict[str, Any]:
        raise NotImplementedError

    def add_webhook_field(self, webhook_id: int, body: Any) -> dict[str, Any]:
        fields = _keyed(body)
        webhook = self.webhooks[webhook_id]
        if fields.get("webhookID") not in (None, webhook_id):
            raise Invalid("webhookID does not match the parent webhook of the URL.")
        field_id = fields.get("fieldID")
        if str(field_id) not in PICKLISTS["TicketWebhookFields"]["fieldID"]:
            raise Invalid(f"fieldID {field_id!r} is not a ticket field that supports webhooks.")
        subscribed, always = fields.get("isSubscribedField") is True, fields.get("isDisplayAlwaysField") is True
        if not (subscribed or always):
            raise Invalid("A webhook field is subscribed, display-always, or both.")
        item_id = max(self.webhook_fields, default=0) + 1
        self.webhook_fields[item_id] = {"id": item_id, "webhookID": webhook_id, "fieldID": field_id,
                                        "isSubscribedField": subscribed, "isDisplayAlwaysField": always}  # fmt: skip
        webhook["isReady"] = webhook["isReady"] or subscribed
        return self.webhook_fields[item_id]

    def exclude_resource(self, webhook_id: int, body: Any) -> dict[str, Any]:
        fields = _keyed(body)
        if fields.get("resourceID") not in self.resources:
            raise Invalid(f"resourceID {fields.get('resourceID')!r} is not a resource.")
        item_id = max(self.excluded_resources, default=0) + 1
        self.excluded_resources[item_id] = {"id": item_id, "webhookID": webhook_id, "resourceID": fields["resourceID"]}
        return self.excluded_resources[item_id]

    def delete_webhook(self, webhook_id: int) -> None:
        """Gone, its fields and exclusions with it; its deactivation URL is told."""
        webhook = self.webhooks.pop(webhook_id)
        for table in (self.webhook_fields, self.excluded_resources):
            for key in [k for k, row in table.items() if row["webhookID"] == webhook_id]:
                del table[key]
        body = json.dumps({"Guid": webhook["webhookGUID"], "EntityType": "Ticket", "Id": webhook_id,
                           "Action": "Deactivated", "EventTime": now()}).encode()  # fmt: skip
        self._queue(webhook, body)

    # --- callouts ------------------------------------------------------------------------------
    def ticket_changed(self, ticket: dict[str, Any], changed: set[str], *, action: str, by: int | None) -> None:
        """Queue the callouts this change triggers: an active, ready webhook subscribed to the action and (for an
        update) to one of the changed fields, unless the resource who made the change is excluded."""
        names = PICKLISTS["TicketWebhookFields"]["fieldID"]
        for webhook in sorted(self.webhooks.values(), key=lambda w: w["id"]):
            if not (webhook["isActive"] and webhook["isReady"]):
                continue
            if not webhook[f"isSubscribedTo{action}Events"]:
                continue
            rows = [row for row in self.webhook_fields.values() if row["webhookID"] == webhook["id"]]
            subscribed = {names[str(row["fieldID"])] for row in rows if row["isSubscribedField"]}
            always = {names[str(row["fieldID"])] for row in rows if row["isDisplayAlwaysField"]}
            if action == "Update" and not subscribed & changed:
                continue
            excluded = {
                row["resourceID"] for row in self.excluded_resources.values() if row["webhookID"] == webhook["id"]
            }
            if by is not None and by in excluded:
                continue
            self._sequence += 1
            shown = (subscribed & changed) | always if action == "Update" else subscribed | always
            payload = {
                "Action": action,
                "Guid": webhook["webhookGUID"],
                "EntityType": "Ticket",
                "Id": ticket["id"],
                "Fields": {name: ticket.get(name) for name in sorted(shown)} | {"id": ticket["id"]},
                "EventTime": now(),
                "SequenceNumber": self._sequence,
                "PersonID": by,
            }
            self._queue(webhook, json.dumps(payload).encode())

    def _queue(self, webhook: dict[str, Any], body: bytes) -> None:
        headers = {"Content-Type": "application/json", "X-Hook-Signature": sign(webhook["secretKey"], body)}
        url = webhook["webhookUrl"] if b'"Deactivated"' not in body else webhook["deactivationUrl"]
        self.outbox.append(Callout(url, body, headers))

    def deliver_webhooks(self, *, send: Sender | None = None) -> list[tuple[str, int]]:
        """Post every queued callout (outside the lock: the receiver reads the ticket back from this stand-in);
        one answered other than 2xx, or not answered, is queued again. Returns (url, status) for each."""
        with self.lock:
            pending, self.outbox = self.outbox, []
        posted = []
        for callout in pending:
            callout.attempts += 1
            try:
                status = (send or _post)(callout.url, callout.body, callout.headers)
            except Exception:  # the receiver is down: Autotask tries again later
                status = 0
            posted.append((callout.url, status))
            with self.lock:
                self.delivered.append((callout.url, status))
                self._last = callout
                if not 200 <= status < 300:
                    self.outbox.append(callout)
        return posted

    def redeliver_last(self, *, send: Sender | None = None) -> int:
        """Post the last callout again, byte for byte: Autotask did not hear the first answer."""
        assert self._last is not None, "nothing was delivered yet"
        return (send or _post)(self._last.url, self._last.body, self._last.headers)

    def start_delivering(self, interval: float = 1.0) -> None:
        """Post queued callouts every ``interval`` seconds in a thread (the demo); ``stop`` ends it."""

        def loop() -> None:
            while not self._stop_delivering.wait(interval):
                self.deliver_webhooks()

        threading.Thread(target=loop, name="autotask-callouts", daemon=True).start()
