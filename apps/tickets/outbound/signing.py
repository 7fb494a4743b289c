"""How a receiver verifies a Gaby webhook: HMAC-SHA256 over ``<timestamp>.<raw body>`` under the endpoint's secret.

Headers of every delivery::

    X-Gaby-Event: ticket.created
    X-Gaby-Event-Id: <uuid>          (the same on every attempt: receivers deduplicate on it)
    X-Gaby-Delivery: <uuid>
    X-Gaby-Timestamp: <unix seconds>  (reject if older than a few minutes: replay protection)
    X-Gaby-Signature: sha256=<hex>
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

EVENT_HEADER = "X-Gaby-Event"
EVENT_ID_HEADER = "X-Gaby-Event-Id"
DELIVERY_HEADER = "X-Gaby-Delivery"
TIMESTAMP_HEADER = "X-Gaby-Timestamp"
SIGNATURE_HEADER = "X-Gaby-Signature"
DEFAULT_TOLERANCE_SECONDS = 300


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(
    secret: str,
    *,
    body: bytes,
    timestamp: str,
    signature_header: str,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> bool:
    """What a receiver does (and what the tests do): a fresh timestamp and a matching signature."""
    try:
        stamp = int(timestamp)
    except ValueError:
        return False
    if abs((now if now is not None else time.time()) - stamp) > tolerance:
        return False
    return hmac.compare_digest(signature(secret, stamp, body), signature_header)
