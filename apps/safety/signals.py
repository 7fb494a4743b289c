"""Sign-ins, sign-outs and failed sign-ins go into the audit chain of the domain they happened on."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from apps.auditlog import audit
from apps.auditlog.models import ActorKind


def _request_facts(request: Any) -> dict[str, Any]:
    if request is None:
        return {}
    return {
        "ip": request.META.get("REMOTE_ADDR"),
        "host": request.META.get("HTTP_HOST"),  # not get_host(): sign-ins outside a request carry an empty META
        "request_id": getattr(request, "request_id", None),
    }


@receiver(user_logged_in)
def _logged_in(sender: Any, request: Any, user: Any, **_: Any) -> None:
    audit.record(
        event="auth.login",
        actor_kind=ActorKind.USER,
        actor_id=user.pk,
        payload={"email": user.email, **_request_facts(request)},
    )


@receiver(user_logged_out)
def _logged_out(sender: Any, request: Any, user: Any, **_: Any) -> None:
    if user is not None:
        audit.record(event="auth.logout", actor_kind=ActorKind.USER, actor_id=user.pk, payload=_request_facts(request))


@receiver(user_login_failed)
def _login_failed(sender: Any, credentials: dict[str, Any], request: Any = None, **_: Any) -> None:
    # Only the identifier is kept; Django has already masked anything that looks like a password.
    login = credentials.get("email") or credentials.get("username") or credentials.get("login") or ""
    audit.record(
        event="auth.login_failed", actor_kind=ActorKind.SYSTEM, payload={"login": str(login), **_request_facts(request)}
    )
