from django.urls import path

from cases.consumers import UserConsumer

websocket_urlpatterns = [
    path("ws/me/", UserConsumer.as_asgi()),
]
