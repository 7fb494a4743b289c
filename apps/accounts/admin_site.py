"""The Django admin, on the portal only (gaby_site/urls_public.py), for MSP staff."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse


class GabyAdminSite(admin.AdminSite):
    site_header = "Gaby administration"
    site_title = "Gaby admin"
    index_title = "Configuration"

    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        """Never Django's own form, which has no failed-attempt limit and knows nothing of two-factor: an anonymous
        visitor is sent to allauth's sign-in (limits, TOTP) and comes back; a signed-in user who may not use this
        admin gets 403. allauth's ``secure_admin_login`` does the redirect; who may enter is Django's
        ``has_permission`` (active staff)."""
        from allauth.account.decorators import secure_admin_login  # imports models: not at app-loading time

        if request.user.is_authenticated and not self.has_permission(request):
            raise PermissionDenied("This admin is for MSP staff.")
        if request.user.is_authenticated:
            return super().login(request, extra_context)
        return secure_admin_login(super().login)(request, extra_context)


class GabyAdminConfig(AdminConfig):
    default_site = "apps.accounts.admin_site.GabyAdminSite"
