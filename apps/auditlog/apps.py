from django.apps import AppConfig


class AuditLogConfig(AppConfig):
    """The audit table alone, installed in the public schema (install-level events) and every client's."""

    name = "apps.auditlog"
    label = "auditlog"
    verbose_name = "Audit log"
