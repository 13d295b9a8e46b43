"""Browser session lifetimes, shared by the pages (accounts.middleware) and the websocket handshake (config.ws).

A session ends after `SULH_SESSION_IDLE_MINUTES` without a request, and `SESSION_COOKIE_AGE` seconds after the
login whatever happens. Django's own expiry slides with every save of the session, so the login time is kept in
the session itself.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings

LOGIN_AT = "_sulh_login_at"
SEEN_AT = "_sulh_seen_at"
# The last-seen time is written at most this often (seconds): a session saved on every request costs a write each.
TOUCH_EVERY = 60


def session_expired(session: Any, now: float | None = None) -> bool:
    """Whether a logged-in session has been idle too long or lived past its absolute lifetime."""
    now = time.time() if now is None else now
    seen = session.get(SEEN_AT)
    if seen is not None and now - seen > settings.SULH_SESSION_IDLE_MINUTES * 60:
        return True
    ends = session_ends_at(session)
    return ends is not None and now > ends


def session_ends_at(session: Any) -> float | None:
    """When a logged-in session's absolute lifetime ends (a POSIX time), or None when it does not say when it began."""
    login = session.get(LOGIN_AT)
    return None if login is None else login + settings.SESSION_COOKIE_AGE


def session_touch(session: Any, now: float | None = None, *, login: bool = False) -> bool:
    """Record activity on the session (at most once a minute), or the login itself; whether it changed."""
    now = time.time() if now is None else now
    changed = False
    if login or session.get(LOGIN_AT) is None:
        session[LOGIN_AT] = now
        changed = True
    if changed or now - session.get(SEEN_AT, 0) >= TOUCH_EVERY:
        session[SEEN_AT] = now
        changed = True
    return changed
