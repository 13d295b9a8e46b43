"""A removed or changed membership takes effect on open sockets too: the user's sockets recheck, in every process,
whether they may still be held (ASVS 5.0 7.4.2)."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from accounts import broadcast

from .models import Membership


@receiver([post_save, post_delete], sender=Membership, dispatch_uid="membership_changed_recheck_sockets")
def recheck_sockets(sender: Any, instance: Membership, **kwargs: Any) -> None:
    broadcast.sockets_recheck_for_user(user_id=instance.user_id)
