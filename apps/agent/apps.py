from django.apps import AppConfig


class AgentConfig(AppConfig):
    name = "apps.agent"
    label = "agent"
    verbose_name = "Investigations"

    def ready(self) -> None:
        from apps.agent import signals  # noqa: F401  (auto-investigate new tickets)
        from apps.agent.inbox_facet import GabyVerdictFacet
        from apps.tickets import inbox

        inbox.register_facet(GabyVerdictFacet())  # the inbox's "Gaby" column and filter
