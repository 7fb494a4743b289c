"""Settings → API keys: Admins create (token shown once) and revoke this client's keys."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_POST

from apps.accounts.access import require_role
from apps.accounts.models import Role, User
from apps.apikeys import services
from apps.apikeys.forms import ApiKeyForm
from apps.apikeys.models import ApiKey
from apps.core.http import ClientRequest, render_page


def get_key_for_client(request: ClientRequest, key_id: UUID) -> ApiKey:
    """Scoped accessor: a key of the current client's schema; another client's id is a 404."""
    return get_object_or_404(ApiKey, pk=key_id)


def _render(request: ClientRequest, *, status: int = 200, **extra: Any) -> HttpResponse:
    keys = list(ApiKey.objects.order_by("revoked_at", "-created_at"))
    creators = {u.pk: u.display_name for u in User.objects.filter(pk__in={k.created_by_id for k in keys})}
    for key in keys:
        key.creator_name = creators.get(key.created_by_id, "") if key.created_by_id else ""  # type: ignore[attr-defined]
    context = {"keys": keys, "form": extra.pop("form", None) or ApiKeyForm(), **extra}
    return render_page(request, "apikeys/keys.html", context, partial="keys", status=status)


@require_role(Role.ADMIN)
def keys(request: ClientRequest) -> HttpResponse:
    return _render(request)


@require_POST
@require_role(Role.ADMIN)
def create(request: ClientRequest) -> HttpResponse:
    form = ApiKeyForm(request.POST)
    if not form.is_valid():
        return _render(request, form=form, status=400)
    key, token = services.create_key(name=form.cleaned_data["name"], role=form.cleaned_data["role"], actor=request.user)
    return _render(request, new_token=token, new_key=key)


@require_POST
@require_role(Role.ADMIN)
def revoke(request: ClientRequest, key_id: UUID) -> HttpResponse:
    services.revoke_key(key=get_key_for_client(request, key_id), actor=request.user)
    return _render(request)
