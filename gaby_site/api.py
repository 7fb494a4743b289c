"""The one JSON API of a client's domain (django-ninja), mounted at /api/v1/ by urls_tenant.py.

Each app adds its router here with ``api.add_router(prefix, "apps.<app>.api.router")``. The API's
access gate is ninja's auth, not ClientAccessMiddleware (machines have no session): by default an
operation needs a signed-in member of the client (session + CSRF) and writes need Agent or more;
a script may instead send ``Authorization: Bearer <API key>`` (a key of this client, acting with the
key's role). An operation that authenticates otherwise (a signed webhook) declares its own ``auth``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, cast

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver
from ninja import NinjaAPI
from ninja.errors import HttpError
from ninja.parser import Parser
from ninja.security import SessionAuth

from apps.accounts.access import SAFE_METHODS, membership_for
from apps.accounts.models import Role
from apps.apikeys.auth import ApiKeyAuth
from apps.core.edges import EdgeError, load_json


class MemberSessionAuth(SessionAuth):
    """A signed-in member of the request's client; Agent or more for writes."""

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = super().authenticate(request, key)
        if user is None:
            return None
        membership = membership_for(user, request.tenant)  # type: ignore[attr-defined]
        if membership is None:
            raise HttpError(403, "You are not a member of this client.")
        if request.method not in SAFE_METHODS and not membership.allows(Role.AGENT):
            raise HttpError(403, f"This needs the Agent role; you are {membership.get_role_display()}.")
        request.membership = membership  # type: ignore[attr-defined]
        return user


def members_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The interactive docs and schema: members of the client only."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if membership_for(request.user, request.tenant) is None:  # type: ignore[attr-defined]
            raise PermissionDenied("The API docs are for members of this client.")
        return view(request, *args, **kwargs)

    return wrapped


class EdgeParser(Parser):
    """JSON bodies parsed within the edge's bounds (apps/core/edges.py: depth, UTF-8, no NUL)."""

    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        return cast(dict[str, Any], load_json(request.body))


# Answers every operation can give, whatever it does: the edge refuses a value (400), no or a bad credential (401),
# a role that is not enough (403), a body or parameter that does not match the schema (422). Operations with a
# path parameter also answer 404 (another client's or no such object). Documented once here so the schema lists
# every status the API really sends; an operation's own answers (409, 502, …) are declared on the operation.
COMMON_ANSWERS = {
    "400": "A value Gaby refuses at its edge (a NUL character, JSON nested too deep) or that the operation rejects.",
    "401": "No credential, or one this client does not know.",
    "403": "The member or API key lacks the role this needs.",
    "422": "The body or a parameter does not match the schema; `detail` names each field.",
}
NOT_FOUND = "No such object in this client."
ERROR_BODY = {"type": "object", "properties": {"detail": {}}, "required": ["detail"]}


class GabyAPI(NinjaAPI):
    def get_openapi_schema(self, *args: Any, **kwargs: Any) -> Any:
        schema = super().get_openapi_schema(*args, **kwargs)
        for path, operations in schema["paths"].items():
            for operation in operations.values():
                answers = operation.setdefault("responses", {})
                extra = {**COMMON_ANSWERS, **({"404": NOT_FOUND} if "{" in path else {})}
                for code, description in extra.items():
                    if code not in answers and int(code) not in answers:
                        answers[code] = {
                            "description": description,
                            "content": {"application/json": {"schema": ERROR_BODY}},
                        }
        return schema


api = GabyAPI(
    title="Gaby API",
    version="1",
    description="Per-client API of Gaby. Every path is served on the client's own domain.",
    # A bearer API key of this client (apps/apikeys), else a signed-in member's session.
    auth=[ApiKeyAuth(), MemberSessionAuth()],
    docs_decorator=members_only,
    urls_namespace="api-v1",
    parser=EdgeParser(),
)
api.add_router("/", "apps.tickets.api.router")
api.add_router("/knowledge/", "apps.knowledge.api.router")


@api.exception_handler(ValidationError)
def _validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    """A service's ValidationError becomes a 400 whose detail says what to fix, per field when it can."""
    if hasattr(exc, "error_dict"):
        detail: Any = {field: [str(m) for e in errors for m in e.messages] for field, errors in exc.error_dict.items()}
    else:
        detail = " ".join(exc.messages)
    return api.create_response(request, {"detail": detail}, status=400)


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    """ninja answers an unparseable body "Cannot parse request body"; when the edge refused it, say why."""
    cause = exc.__cause__
    detail = str(cause) if isinstance(cause, EdgeError) else exc.message
    return api.create_response(request, {"detail": detail}, status=exc.status_code)


def api_urls() -> tuple[list[URLPattern | URLResolver], str, str]:
    """``api.urls`` with each view marked for ClientAccessMiddleware to let ninja's auth decide."""
    patterns, app_name, namespace = api.urls

    def mark(items: list[Any]) -> None:
        for item in items:
            if isinstance(item, URLResolver):
                mark(item.url_patterns)
            elif isinstance(item, URLPattern):
                item.callback.gaby_public = True  # type: ignore[attr-defined]

    mark(patterns)
    return patterns, app_name, namespace
