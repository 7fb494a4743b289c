from __future__ import annotations

from django.contrib import admin
from django_tenants.admin import TenantAdminMixin

from tenants.models import Client, ClientPlan, Domain, Plan, QuotaNotice


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


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    """The plan tiers MSP staff sell (MSP-10): caps per month and seats; clients are put on one on the Costs page."""

    list_display = ["name", "position", "monthly_tokens", "monthly_usd", "seats", "notice_percent", "stop_percent"]
    ordering = ["position", "name"]


@admin.register(ClientPlan)
class ClientPlanAdmin(admin.ModelAdmin):
    list_display = ["client", "plan", "monthly_tokens", "monthly_usd", "seats", "updated_at"]
    list_select_related = ["client", "plan"]


@admin.register(QuotaNotice)
class QuotaNoticeAdmin(admin.ModelAdmin):
    """Sent by the gateway's quota check, once per client, month and level: read-only."""

    list_display = ["client", "month", "level", "created_at", "sent_at"]
    list_filter = ["level"]

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False
