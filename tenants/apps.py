from django.apps import AppConfig
from django.db.models.signals import post_migrate


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = "Clients"

    def ready(self) -> None:
        from tenants.db_privileges import grant_after_migrate

        # Once per migrated schema (sender=self: post_migrate is sent for every app).
        post_migrate.connect(grant_after_migrate, sender=self, dispatch_uid="tenants.grant_after_migrate")
