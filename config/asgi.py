"""ASGI entry point: pages and API over HTTP, live sessions over websockets."""

import gc
import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.core.asgi import get_asgi_application  # noqa: E402

from config.degraded import ChannelLayerGuard  # noqa: E402
from config.origins import OriginValidator  # noqa: E402
from config.routing import websocket_urlpatterns  # noqa: E402
from config.ws import TokenAuthMiddleware  # noqa: E402

django_asgi_app = get_asgi_application()


def _refuse_published_passwords() -> None:
    """Production refuses to serve while a demo login has the published password (the check is registered by
    the demo data's app under the tag "demo_passwords")."""
    from django.conf import settings
    from django.core import checks
    from django.core.exceptions import ImproperlyConfigured

    if settings.DEMO_DATA_ALLOWED:
        return
    errors = [
        e
        for e in checks.run_checks(tags=["demo_passwords"], include_deployment_checks=True, databases=["default"])
        if e.is_serious()
    ]
    if errors:
        raise ImproperlyConfigured("; ".join(f"{e.msg} {e.hint}" for e in errors))


_refuse_published_passwords()

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        # The Origin must match an allowed origin's scheme, host and port (config/origins.py).
        # While the channel layer (Redis) is unreachable every handshake is answered 503 (config/degraded.py).
        "websocket": ChannelLayerGuard(
            OriginValidator(AuthMiddlewareStack(TokenAuthMiddleware(URLRouter(websocket_urlpatterns))))
        ),
    }
)

# Everything loaded at start-up lives for the whole process: keep it out of the garbage collector's
# full collections, whose pauses are the websocket tail latency (PITFALLS.md).
gc.freeze()
