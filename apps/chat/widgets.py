"""Widget configuration (SRC-3, MSP-9): keys, allowed origins, theme, persona, business hours, identity.

A widget's public key is not a secret: it names the widget in the page's snippet. What protects a
client is that the key is looked up only inside the schema of the host the widget connects to, and
that the browser's Origin must be on the widget's allowlist. Hosts that know who their visitor is
sign ``{"user_id", "email", "name", "exp"}`` with the widget's identity secret (HMAC-SHA256), so a
visitor cannot claim to be someone else.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import transaction

from apps.auditlog.audit import record
from apps.auditlog.models import ActorKind
from apps.chat.models import IdentityMode, Widget
from apps.core.secrets import seal, unseal
from tenants.models import Client

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HOURS = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")
_THEME_KEY = re.compile(r"^[a-z][a-z0-9-]{0,40}$")
_THEME_VALUE = re.compile(r"^[#(),.%\w\s-]{1,80}$")  # colours, sizes, font names; nothing that can end a rule


@dataclass(frozen=True)
class Identity:
    user_id: str = ""
    email: str = ""
    name: str = ""
    verified: bool = False


def new_public_key() -> str:
    return "gw_" + secrets.token_urlsafe(18)


def clean_origins(values: list[str]) -> list[str]:
    """``scheme://host[:port]`` of each allowed site, lower-cased, without paths; errors say which is wrong."""
    origins: list[str] = []
    for value in values:
        value = value.strip().rstrip("/")
        if not value:
            continue
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.path or parts.query:
            raise ValidationError({"allowed_origins": f"{value!r} is not an origin like https://www.example.com."})
        origins.append(f"{parts.scheme}://{parts.netloc.lower()}")
    if not origins:
        raise ValidationError({"allowed_origins": "List at least one site (origin) the widget may run on."})
    return list(dict.fromkeys(origins))


def clean_theme(theme: Any) -> dict[str, str]:
    if not isinstance(theme, dict):
        raise ValidationError({"theme": 'The theme is a JSON object such as {"accent": "#0b6e4f"}.'})
    for key, value in theme.items():
        if not _THEME_KEY.match(str(key)) or not isinstance(value, str) or not _THEME_VALUE.match(value):
            raise ValidationError({"theme": f"Theme entry {key!r} must be a lower-case name with a plain CSS value."})
    return {str(k): str(v) for k, v in theme.items()}


def clean_hours(hours: Any) -> dict[str, str]:
    if not isinstance(hours, dict):
        raise ValidationError({"business_hours": 'Business hours are a JSON object like {"mon": "09:00-17:00"}.'})
    for day, span in hours.items():
        if day not in DAYS or not isinstance(span, str) or not _HOURS.match(span):
            raise ValidationError(
                {"business_hours": f"{day}: use a day among {', '.join(DAYS)} and hours like 09:00-17:00."}
            )
    return {str(k): str(v) for k, v in hours.items()}


def _audit(event: str, actor: Any, **payload: Any) -> None:
    user_id = getattr(actor, "pk", None)
    record(
        event=event, actor_kind=ActorKind.USER if user_id else ActorKind.SYSTEM, actor_id=user_id or "", payload=payload
    )


def _apply(widget: Widget, changes: dict[str, Any]) -> None:
    for name in ("name", "greeting", "persona_name", "persona_avatar_url", "identity_mode", "enabled"):
        if name in changes:
            setattr(widget, name, changes[name])
    if "allowed_origins" in changes:
        wanted = [str(value) for value in changes["allowed_origins"] or []]
        # A widget that is off may wait for its sites (an onboarding template cannot know them, and an Admin may
        # withdraw them all); one that runs may not: clean_origins refuses an empty list.
        cleared = not widget.enabled and not any(value.strip() for value in wanted)
        widget.allowed_origins = [] if cleared else clean_origins(wanted)
    if widget.enabled and not widget.allowed_origins:
        widget.allowed_origins = clean_origins([])
    if "theme" in changes:
        widget.theme = clean_theme(changes["theme"])
    if "business_hours" in changes:
        widget.business_hours = clean_hours(changes["business_hours"])


# What an update may change, as the audit names it; the identity secret has its own event (rotate_identity_secret).
AUDITED = (
    "name",
    "greeting",
    "persona_name",
    "persona_avatar_url",
    "identity_mode",
    "enabled",
    "allowed_origins",
    "theme",
    "business_hours",
)


def create_widget(*, client: Client, changes: dict[str, Any], actor: Any = None) -> Widget:
    widget = Widget(public_key=new_public_key())
    _apply(widget, changes)
    with transaction.atomic():
        widget.save()
        widget.sealed_identity_secret = seal(client, secrets.token_urlsafe(32), purpose=widget.secret_purpose)
        widget.save(update_fields=["sealed_identity_secret"])
        _audit("chat_widget.created", actor, widget=widget.pk, name=widget.name, origins=widget.allowed_origins)
    return widget


def update_widget(*, widget: Widget, changes: dict[str, Any], actor: Any = None) -> Widget:
    """Apply ``changes`` (a form's whole cleaned data, or a template's few fields) and audit the fields whose value
    really changed, with the origins before and after: who may embed the widget is what an auditor asks about."""
    before = {name: getattr(widget, name) for name in AUDITED}
    _apply(widget, changes)
    changed = [name for name in AUDITED if getattr(widget, name) != before[name]]
    extra: dict[str, Any] = {}
    if "allowed_origins" in changed:
        extra["allowed_origins"] = {"before": before["allowed_origins"], "after": widget.allowed_origins}
    with transaction.atomic():
        widget.save()
        _audit("chat_widget.changed", actor, widget=widget.pk, fields=sorted(changed), **extra)
    return widget


def rotate_identity_secret(*, client: Client, widget: Widget, actor: Any = None) -> str:
    secret = secrets.token_urlsafe(32)
    with transaction.atomic():
        widget.sealed_identity_secret = seal(client, secret, purpose=widget.secret_purpose)
        widget.save(update_fields=["sealed_identity_secret"])
        _audit("chat_widget.secret_rotated", actor, widget=widget.pk)
    return secret


def identity_secret(*, client: Client, widget: Widget) -> str:
    return unseal(client, widget.sealed_identity_secret, purpose=widget.secret_purpose)


def widget_for_key(key: str) -> Widget | None:
    """The enabled widget with this public key in the current schema, or None."""
    if not key or len(key) > 64:
        return None
    return Widget.objects.filter(public_key=key, enabled=True).first()


def origin_allowed(widget: Widget, origin: str) -> bool:
    return origin.rstrip("/").lower() in widget.allowed_origins


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sign_identity(secret: str, *, user_id: str, email: str = "", name: str = "", ttl: int = 3600) -> str:
    """What a host's server does (any language): base64url(JSON payload) + "." + hex HMAC-SHA256 of that text."""
    body = _b64(json.dumps({"user_id": user_id, "email": email, "name": name, "exp": int(time.time()) + ttl}).encode())
    return body + "." + hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest()


def verify_identity(*, client: Client, widget: Widget, token: str | None) -> Identity | None:
    """The visitor's identity: anonymous widgets ignore tokens; signed widgets need a valid, unexpired one."""
    if widget.identity_mode == IdentityMode.ANONYMOUS:
        return Identity()
    if not token or "." not in token or len(token) > 4096:
        return None
    body, signature = token.rsplit(".", 1)
    expected = hmac.new(identity_secret(client=client, widget=widget).encode(), body.encode(), hashlib.sha256)
    if not hmac.compare_digest(expected.hexdigest(), signature):
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except (ValueError, TypeError):
        return None
    if not isinstance(payload, dict) or int(payload.get("exp", 0)) < time.time() or not payload.get("user_id"):
        return None
    return Identity(
        str(payload["user_id"])[:200],
        str(payload.get("email", ""))[:254],
        str(payload.get("name", ""))[:200],
        verified=True,
    )


def is_open(widget: Widget, client: Client, now: datetime) -> bool:
    """Within business hours in the client's time zone (no hours set: always open)."""
    if not widget.business_hours:
        return True
    local = now.astimezone(ZoneInfo(client.time_zone or "UTC"))
    span = widget.business_hours.get(DAYS[local.weekday()])
    if not span:
        return False
    start, end = span.split("-")
    return start <= local.strftime("%H:%M") < end


def public_config(widget: Widget) -> dict[str, Any]:
    """What the widget's browser side may know about its configuration."""
    return {
        "persona": widget.persona_name,
        "avatar": widget.persona_avatar_url,
        "greeting": widget.greeting,
        "theme": widget.theme,
        "identity": widget.identity_mode,
    }
