from typing import Any

from django.urls import path
from django.utils.module_loading import import_string

from apps.accounts.live import LiveConsumer

# Named by string, like include("apps.chat.urls"): the core path does not import the chat app.
ConsoleConsumer = import_string("apps.chat.console.ConsoleConsumer")
WidgetConsumer = import_string("apps.chat.consumers.WidgetConsumer")

websocket_urlpatterns = [
    path("ws/live/", LiveConsumer.as_asgi()),
    path("ws/chat/console/", ConsoleConsumer.as_asgi()),
]
# Sockets opened from other sites (the chat widget): no session, and each checks the Origin against its
# own allowlist instead of ALLOWED_HOSTS.
public_websocket_urlpatterns = [path("ws/widget/", WidgetConsumer.as_asgi())]
PUBLIC_WEBSOCKET_PATHS = ("/ws/widget/",)


class WebsocketSplit:
    """Sends the public sockets' paths to ``public`` and every other socket to ``members``."""

    def __init__(self, public: Any, members: Any) -> None:
        self.public = public
        self.members = members

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        app = self.public if scope.get("path") in PUBLIC_WEBSOCKET_PATHS else self.members
        return await app(scope, receive, send)
