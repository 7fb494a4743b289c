"""The Django admin on the portal (staff) and on each client domain (that client's Admins)."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.db import connection
from django.http import HttpRequest


class GabyAdminSite(admin.AdminSite):
    site_header = "Gaby administration"
    site_title = "Gaby admin"
    index_title = "Configuration"

    def has_permission(self, request: HttpRequest) -> bool:
        from apps.accounts.access import membership_for
        from apps.accounts.models import Role

        user = request.user
        if not (user.is_authenticated and user.is_active):
            return False
        tenant = getattr(request, "tenant", None) or getattr(connection, "tenant", None)
        if tenant is None or tenant.is_public:
            return bool(user.is_staff)
        membership = membership_for(user, tenant)
        return membership is not None and membership.role == Role.ADMIN


class GabyAdminConfig(AdminConfig):
    default_site = "apps.accounts.admin_site.GabyAdminSite"
