from django.apps import AppConfig


class ClientTemplatesConfig(AppConfig):
    """MSP-8: onboarding templates live in the public schema, shared by every client (SHARED_APPS only)."""

    name = "apps.onboarding.client_templates"
    label = "client_templates"
    verbose_name = "Onboarding templates"
    default_auto_field = "django.db.models.BigAutoField"
