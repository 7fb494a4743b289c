"""Model permissions on a client's domain follow the user's role there, not global flags."""

from __future__ import annotations

from functools import cache
from typing import Any

from django.conf import settings
from django.db import connection

from apps.accounts.models import Membership, Role


@cache
def _tenant_app_labels() -> frozenset[str]:
    from django.apps import apps

    labels = set()
    for entry in settings.TENANT_APPS:
        for config in apps.get_app_configs():
            if entry in {config.name, f"{config.__module__}.{config.__class__.__name__}"}:
                labels.add(config.label)
    return frozenset(labels - {"contenttypes", "admin"})


class ClientRoleBackend:
    """Admins of the current client get every permission on the client's own apps; Agents and
    Viewers may view them. Grants nothing on the portal, where ModelBackend applies."""

    def authenticate(self, request: Any, **credentials: Any) -> None:
        return None

    def _role(self, user_obj: Any) -> str | None:
        tenant = getattr(connection, "tenant", None)
        if tenant is None or getattr(tenant, "is_public", True) or not user_obj.is_active:
            return None
        cache_name = f"_gaby_role_{tenant.pk}"
        if not hasattr(user_obj, cache_name):
            role = Membership.objects.filter(user=user_obj, client_id=tenant.pk).values_list("role", flat=True).first()
            setattr(user_obj, cache_name, role)
        return getattr(user_obj, cache_name)

    def has_perm(self, user_obj: Any, perm: str, obj: Any = None) -> bool:
        role = self._role(user_obj)
        if role is None:
            return False
        app_label, _, codename = perm.partition(".")
        if app_label not in _tenant_app_labels():
            return False
        return role == Role.ADMIN or codename.startswith("view_")

    def has_module_perms(self, user_obj: Any, app_label: str) -> bool:
        return self._role(user_obj) is not None and app_label in _tenant_app_labels()
