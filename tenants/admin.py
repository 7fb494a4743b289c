from __future__ import annotations

from django.contrib import admin
from django_tenants.admin import TenantAdminMixin

from tenants.models import Client, Domain


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0


@admin.register(Client)
class ClientAdmin(TenantAdminMixin, admin.ModelAdmin):
    list_display = ["name", "slug", "schema_name", "autonomy", "is_active", "created_at"]
    list_filter = ["autonomy", "is_active"]
    search_fields = ["name", "slug"]
    readonly_fields = ["schema_name", "created_at"]
    inlines = [DomainInline]

    def get_readonly_fields(self, request, obj=None):  # type: ignore[no-untyped-def]
        # The slug names the schema and subdomain: fixed once the client exists.
        return [*self.readonly_fields, "slug"] if obj else self.readonly_fields

    def save_model(self, request, obj, form, change):  # type: ignore[no-untyped-def]
        if not change:
            obj.schema_name = obj.slug
        super().save_model(request, obj, form, change)
