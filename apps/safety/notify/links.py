"""Signed approve/reject links. A link names the action, the decision, the client's schema and — for an
emailed link — the approver it was sent to. It only leads to a confirm page (a GET never acts); it can decide
at most once, because deciding claims the waiting action, and it stops working when the approval expires."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.urls import reverse

from apps.safety.models import NoticeChannel
from tenants.addresses import client_url
from tenants.models import Client

SALT = "gaby.safety.approval-link"
DECISIONS = ("approve", "reject")


class BadLink(Exception):
    """The link is forged, altered, expired or for another client; the message says which."""


@dataclass(frozen=True)
class LinkClaim:
    action_id: str
    decision: str
    schema: str
    user_id: str  # empty: whoever is signed in (a link posted to a shared channel)
    channel: str


def make_token(
    *, action_id: str, decision: str, schema: str, user_id: str = "", channel: str = NoticeChannel.EMAIL
) -> str:
    if decision not in DECISIONS:
        raise ValueError(f"decision is one of {DECISIONS}")
    return signing.dumps({"a": action_id, "d": decision, "s": schema, "u": user_id, "c": channel}, salt=SALT)


def read_token(token: str, *, schema: str, max_age: timedelta) -> LinkClaim:
    try:
        data = signing.loads(token, salt=SALT, max_age=max_age)
    except signing.SignatureExpired:
        raise BadLink("This link has expired; open the Approvals page instead.") from None
    except signing.BadSignature:
        raise BadLink("This link is not valid (altered or incomplete); open the Approvals page instead.") from None
    if data.get("s") != schema or data.get("d") not in DECISIONS:
        raise BadLink("This link belongs to another client.")
    return LinkClaim(str(data["a"]), str(data["d"]), str(data["s"]), str(data.get("u", "")), str(data.get("c", "")))


def absolute_url(client: Client, path: str) -> str:
    """The client's own domain, as users reach it (GABY_HTTPS, GABY_PORT)."""
    scheme = "https" if settings.HTTPS else "http"
    return client_url(client, scheme=scheme, port=None if settings.HTTPS else settings.PUBLIC_PORT).rstrip("/") + path


def confirm_url(client: Client, token: str) -> str:
    return absolute_url(client, reverse("safety:confirm", args=[token]))
