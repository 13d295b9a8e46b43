"""Django's createsuperuser, with the password validators also when the password comes from the environment.

Django checks AUTH_PASSWORD_VALIDATORS when it asks for the password, but not for `--noinput` with
DJANGO_SUPERUSER_PASSWORD: there a weak password would go straight in.
"""

import os
from typing import Any

from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.management.commands import createsuperuser
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError


class Command(createsuperuser.Command):
    def handle(self, *args: Any, **options: Any) -> None:
        password = os.environ.get("DJANGO_SUPERUSER_PASSWORD")
        if not options.get("interactive") and password:
            User = get_user_model()
            username = options.get(User.USERNAME_FIELD) or os.environ.get(
                f"DJANGO_SUPERUSER_{User.USERNAME_FIELD.upper()}", ""
            )
            try:
                password_validation.validate_password(password, User(**{User.USERNAME_FIELD: username}))
            except ValidationError as exc:
                raise CommandError("The password was refused: " + " ".join(exc.messages)) from None
        super().handle(*args, **options)
