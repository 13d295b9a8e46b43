"""Close a user's websockets when they log out or are deactivated (ASVS 5.0 7.4.1-7.4.2)."""

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_out
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver
from rest_framework.authtoken.models import Token

from . import broadcast


@receiver(user_logged_out)
def close_sockets_on_logout(sender, request, user, **kwargs) -> None:
    session_key = getattr(getattr(request, "session", None), "session_key", None)
    if session_key:
        broadcast.sockets_close_for_credential(credential=session_key)


@receiver(pre_save, sender=get_user_model())
def remember_active_flag(sender, instance, **kwargs) -> None:
    if instance.pk:
        instance._was_active = sender.objects.filter(pk=instance.pk).values_list("is_active", flat=True).first()


@receiver(post_save, sender=get_user_model())
def close_sockets_on_deactivation(sender, instance, created, **kwargs) -> None:
    if not created and getattr(instance, "_was_active", False) and not instance.is_active:
        broadcast.sockets_close_for_user(user_id=instance.pk)


@receiver(post_delete, sender=Token)
def close_sockets_on_token_delete(sender, instance, **kwargs) -> None:
    broadcast.sockets_close_for_credential(credential=instance.key)
