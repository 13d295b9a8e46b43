"""Close a user's websockets when they log out or are deactivated (ASVS 5.0 7.4.1-7.4.2)."""

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser, User
from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver
from django.http import HttpRequest

from config.sessions import session_touch

from . import broadcast

# Set on a user about to be saved: whether the row was active before the save (not a field of the model).
_WAS_ACTIVE = "_was_active"


@receiver(user_logged_out)
def close_sockets_on_logout(
    sender: type[User], request: HttpRequest | None, user: User | AnonymousUser | None, **kwargs: Any
) -> None:
    session_key = getattr(getattr(request, "session", None), "session_key", None)
    if session_key:
        broadcast.sockets_close_for_credential(credential=session_key)


@receiver(pre_save, sender=get_user_model())
def remember_active_flag(sender: type[User], instance: User, **kwargs: Any) -> None:
    if instance.pk:
        setattr(
            instance, _WAS_ACTIVE, sender.objects.filter(pk=instance.pk).values_list("is_active", flat=True).first()
        )


@receiver(post_save, sender=get_user_model())
def close_sockets_on_deactivation(sender: type[User], instance: User, created: bool, **kwargs: Any) -> None:
    if not created and getattr(instance, _WAS_ACTIVE, False) and not instance.is_active:
        broadcast.sockets_close_for_user(user_id=instance.pk)


@receiver(user_logged_in)
def start_session_clock(sender: type[User], request: HttpRequest | None, user: User, **kwargs: Any) -> None:
    """The absolute lifetime of a browser session counts from the login (config.sessions)."""
    session = getattr(request, "session", None)
    if session is not None:
        session_touch(session, login=True)
