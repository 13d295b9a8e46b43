from django.urls import path

from accounts.consumers import UserConsumer
from deliberation.consumers import SessionConsumer

websocket_urlpatterns = [
    path("ws/me/", UserConsumer.as_asgi()),
    path("ws/sessions/<int:session_id>/", SessionConsumer.as_asgi()),
]
