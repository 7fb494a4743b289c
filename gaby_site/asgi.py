"""ASGI entry point: Django for HTTP, Channels (tenant-resolved, authenticated) for websockets."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gaby_site.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from apps.core.channels import TenantWebsocketMiddleware  # noqa: E402
from gaby_site.routing import WebsocketSplit, public_websocket_urlpatterns, websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": WebsocketSplit(
            # The widget is embedded on customers' sites: its consumer checks the widget's allowed origins.
            public=TenantWebsocketMiddleware(URLRouter(public_websocket_urlpatterns), own_origin=False),
            members=AllowedHostsOriginValidator(
                TenantWebsocketMiddleware(AuthMiddlewareStack(URLRouter(websocket_urlpatterns)))
            ),
        ),
    }
)
