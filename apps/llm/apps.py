from django.apps import AppConfig


class LLMConfig(AppConfig):
    """The LLM gateway: providers, routes, budgets and the record of every call (the one seam to litellm)."""

    name = "apps.llm"
    label = "llm"
    verbose_name = "Models"
