from django.apps import AppConfig


class PlaybooksConfig(AppConfig):
    """SUP-7: YAML playbooks for the no-LLM mode; a client's own and overridden playbooks live in its schema."""

    name = "apps.agent.playbooks"
    label = "playbooks"
    verbose_name = "Playbooks"
    default_auto_field = "django.db.models.BigAutoField"
