"""Gaby's JSON API (django-ninja), served on each client's domain under ``/api/v1/`` (OpenAPI: ``/api/v1/docs``).

Authentication is the Django session for now (API keys come later). Authorization is the same gate
as the pages: ``ClientAccessMiddleware`` requires a membership of the client and at least Agent for
writes; endpoints that need more call ``require_api_role``. Apps add their routers below.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import HttpError
from ninja.security import SessionAuth

from apps.accounts.models import Role


class MemberSession(SessionAuth):
    """A signed-in session with a membership of this client (CSRF-checked on writes)."""

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = super().authenticate(request, key)
        return user if user is not None and getattr(request, "membership", None) is not None else None


def require_api_role(request: HttpRequest, role: str) -> None:
    membership = getattr(request, "membership", None)
    if membership is None or not membership.allows(role):
        raise HttpError(403, f"This needs the {Role(role).label} role.")


api = NinjaAPI(title="Gaby API", version="1", urls_namespace="api", auth=MemberSession())


@api.exception_handler(ValidationError)
def _validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    if hasattr(exc, "error_dict"):
        detail: Any = {field: [str(m) for e in errors for m in e.messages] for field, errors in exc.error_dict.items()}
    else:
        detail = " ".join(exc.messages)
    return api.create_response(request, {"detail": detail}, status=400)


def _register_routers() -> None:
    from apps.knowledge.api import router as knowledge_router

    api.add_router("/knowledge/", knowledge_router)


_register_routers()
