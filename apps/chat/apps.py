from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "apps.chat"
    label = "chat"
    verbose_name = "Chat"

    def ready(self) -> None:
        # Live conversations join the unified inbox through its provider registry (apps/tickets/inbox.py).
        from apps.chat.inbox import ConversationRows
        from apps.tickets import inbox

        inbox.register(ConversationRows())
