"""``Authorization: Bearer <key>`` for the JSON API, checked in the request's client schema only."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.errors import HttpError
from ninja.security import HttpBearer

from apps.accounts.access import SAFE_METHODS
from apps.accounts.models import Role
from apps.apikeys import services


class ApiKeyAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        tenant = getattr(request, "tenant", None)
        if tenant is None or tenant.is_public:
            return None
        principal = services.authenticate(token)
        if principal is None:
            return None
        if request.method not in SAFE_METHODS and not principal.allows(Role.AGENT):
            raise HttpError(403, f"This needs a key with the Agent role; this key is {principal.get_role_display()}.")
        request.membership = principal  # type: ignore[attr-defined]
        return principal
