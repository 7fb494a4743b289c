"""The MSP portal, served on the base domain (the public schema)."""

from django.contrib import admin
from django.urls import include, path

from apps.accounts import views_portal

urlpatterns = [
    path("", views_portal.home, name="portal_home"),
    path("clients/new/", views_portal.new_client, name="portal_new_client"),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
]
