from importlib import import_module

from django.apps import AppConfig

SURFACE_MODULES: list[str] = [  # one line per platform package
    "apps.chat.surfaces.slack.outbound",
    "apps.chat.surfaces.slack.approvals_channel",
    "apps.chat.surfaces.teams.wiring",
]


class ChatConfig(AppConfig):
    name = "apps.chat"
    label = "chat"
    verbose_name = "Chat"

    def ready(self) -> None:
        # Live conversations join the unified inbox through its provider registry (apps/tickets/inbox.py).
        from apps.chat.inbox import ConversationRows
        from apps.tickets import inbox

        inbox.register(ConversationRows())
        # Tickets opened from a Slack/Teams thread reply in that thread (apps/chat/surfaces/action_requests.py).
        from apps.chat.surfaces.action_requests import ChatThreadAdapter
        from apps.tickets.sources import registry

        registry.register(ChatThreadAdapter)
        # Each platform registers its Outbound (apps/chat/surfaces/base.py) when imported.
        for module in SURFACE_MODULES:
            import_module(module)
