"""Messages to a user's open websockets, sent once the transaction that caused them commits."""

from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from config.degraded import outage
from config.ws import credential_group, user_group


def _send(group: str, message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, message)
    except Exception as exc:  # noqa: BLE001 - the change is committed; a channel layer that is down must not 500 it
        # While the layer (Redis) is down no socket can be open to hear this: handshakes are refused (503), and the
        # sockets that were open closed with it, so they come back through a handshake that checks current rights.
        outage("The channel layer (Redis)", exc)


def sockets_close_for_credential(*, credential: str) -> None:
    """Close every socket opened with this session key or token (on logout)."""
    if credential:
        transaction.on_commit(lambda: _send(credential_group(credential), {"type": "auth.logout"}))


def sockets_recheck_for_user(*, user_id: int) -> None:
    """Ask every socket of this user, once the change commits, whether its user may still hold it (a membership
    or role was removed); those that may not close (config.ws.CLOSE_NOT_ALLOWED)."""
    transaction.on_commit(lambda: _send(user_group(user_id), {"type": "auth.recheck"}))


def sockets_recheck_in_group(*, group: str) -> None:
    """Ask every socket in a group (a session's, when it ends) to recheck, once the change commits, whether its user
    may still hold it; those that may not close (config.ws.CLOSE_NOT_ALLOWED)."""
    transaction.on_commit(lambda: _send(group, {"type": "auth.recheck"}))


def sockets_close_for_user(*, user_id: int) -> None:
    """Close every socket of this user (on deactivation)."""
    transaction.on_commit(lambda: _send(user_group(user_id), {"type": "auth.logout"}))
