from django.apps import AppConfig


class SafetyConfig(AppConfig):
    name = "apps.safety"
    label = "safety"
    verbose_name = "Safety"

    def ready(self) -> None:
        from apps.safety import signals  # noqa: F401  (connects the audit receivers)
