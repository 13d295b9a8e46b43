"""A production start-up refuses to serve while a demo login still has the password the README and `make run`
print (shared/CONTRACT.md section 2). Registered under the tag "demo_passwords" with the deploy checks; it reads
the database, so it runs only when a caller names the databases (config.asgi at start-up, `check --database`)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks
from django.db import DatabaseError


@checks.register("demo_passwords", deploy=True)
def demo_passwords(app_configs: Any = None, databases: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    if settings.DEMO_DATA_ALLOWED or not databases:
        return []
    from .demo import users_with_the_published_password

    try:
        exposed = users_with_the_published_password()
    except DatabaseError:
        return []  # Not migrated yet: no user at all, published password or not.
    if not exposed:
        return []
    return [
        checks.Error(
            f"The demo logins {', '.join(exposed)} still have the published demo password.",
            hint="Give them passwords of your own (manage.py changepassword NAME) or deactivate them.",
            id="sulh.E001",
        )
    ]
