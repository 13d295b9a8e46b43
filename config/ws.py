"""Websocket wiring: who is connecting, and a base consumer every Sulh socket builds on.

Browsers authenticate with their session cookie (AuthMiddlewareStack); other clients send
`Authorization: Token <key>`. Origin validation wraps every route (config/asgi.py).
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import logging
import math
import re
import time
from concurrent.futures import ThreadPoolExecutor
from importlib import import_module

from asgiref.sync import SyncToAsync
from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.middleware import BaseMiddleware
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.base import UpdateError
from django.db import close_old_connections, connections
from django.utils import translation
from django.utils.module_loading import import_string

from config.proxies import scope_client_ip
from config.sessions import TOUCH_EVERY, session_ends_at, session_expired, session_touch

logger = logging.getLogger(__name__)

# Close codes (4000-4999 are the application's own).
CLOSE_LOGGED_OUT = 4401
# The socket's user may no longer hold it: a membership or role that let them in was removed.
CLOSE_NOT_ALLOWED = 4403


def credential_group(secret: str) -> str:
    """The group of every socket opened with one session or token; the secret itself never leaves."""
    return "cred." + hashlib.sha256(secret.encode()).hexdigest()[:40]


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


@functools.cache
def database_threads(name: str, threads: int) -> ThreadPoolExecutor:
    """This process's pool of `threads` database threads called `name`, made on first use: work that must not queue
    on Channels' one database thread (on_database_threads)."""
    return ThreadPoolExecutor(max(1, threads), thread_name_prefix=name)


# A connection that answered a call less than this long ago is not health-checked again before the next one.
# Django checks a kept connection (CONN_HEALTH_CHECKS) before the first query of every request, and Channels makes
# every database call of a consumer a request: on the hot paths (a line said, a socket arriving) that `SELECT 1`
# was one round trip in two, or three in twenty. A connection that failed is still checked (errors_occurred),
# and one left idle longer is checked as before; what is given up is the check of a connection that worked a
# moment ago and died since (a database restart within that second): its next call fails once, as a frame does
# while the database is away, and the connection is replaced for the call after.
RECHECK_SECONDS = 1.0


class _PooledDatabaseCall(SyncToAsync):
    """database_sync_to_async on a pool of our own (on_database_threads): Channels' clean-up of old connections
    around the call, with the health check of a connection used in the last RECHECK_SECONDS skipped."""

    def thread_handler(self, loop, *args, **kwargs):
        close_old_connections()
        now = time.monotonic()
        for conn in connections.all(initialized_only=True):
            answered = getattr(conn, "sulh_answered_at", -math.inf)
            if conn.connection is not None and not conn.errors_occurred and now - answered < RECHECK_SECONDS:
                conn.health_check_done = True  # type: ignore[attr-defined]  # Django's own flag, not in its stubs
        try:
            return super().thread_handler(loop, *args, **kwargs)
        finally:
            now = time.monotonic()
            for conn in connections.all(initialized_only=True):
                if conn.connection is not None and not conn.errors_occurred:
                    setattr(conn, "sulh_answered_at", now)  # noqa: B010 (the wrapper has no such field)
            close_old_connections()


def on_database_threads(function, executor: ThreadPoolExecutor):
    """`function` as an awaitable run on one of `executor`'s threads, its database connection handled as Channels'
    database_sync_to_async handles it (closed when obsolete or broken), but not health-checked again within
    RECHECK_SECONDS of its last answer."""
    return _PooledDatabaseCall(function, thread_sensitive=False, executor=executor)


def handshake_database(function):
    """`function`, a handshake's database work (who is connecting, may they attend, their arrival), as an awaitable
    on one of this process's few handshake threads rather than on Channels' one database thread: the handshakes
    of a storm (a district's elders arriving at once) overlap their round trips to the database instead of
    queueing one behind another and behind the sessions' work. Connections are closed as Channels does."""
    return on_database_threads(
        function, database_threads("handshake-db", int(getattr(settings, "SULH_HANDSHAKE_DB_THREADS", 4)))
    )


def _websocket_user(token_key: str | None, session_user, session) -> tuple[object | None, str, float | None]:
    """The socket's user, the credential its sockets are grouped under and when that credential ends (a POSIX time:
    a token's expiry, a browser session's lifetime; None when it does not end), or (None, "", None) to refuse it.

    The accounts app decides who a token belongs to and whether a user may connect (settings.SULH_WEBSOCKET_AUTH:
    config imports no app); a browser session must also be neither idle nor past its lifetime
    (config.sessions), the same rule as the pages.
    """
    auth = import_string(settings.SULH_WEBSOCKET_AUTH)
    if token_key is not None:
        found = auth(token_key, None) if token_key else None
        return found if found is not None else (None, "", None)
    if session is None or not getattr(session_user, "is_authenticated", False):
        return session_user, "", None
    if session_expired(session) or auth(None, session_user) is None:
        return None, "", None
    return session_user, session.session_key or "", session_ends_at(session)


class TokenAuthMiddleware(BaseMiddleware):
    """Adds `scope["user"]` from an `Authorization: Token` header when no session user is present, and refuses
    a browser session that has expired."""

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket":
            headers = dict(scope.get("headers") or [])
            raw = headers.get(b"authorization", b"").decode("latin-1")
            if raw.lower().startswith("token "):
                user, credential, ends_at = await handshake_database(_websocket_user)(raw[6:].strip(), None, None)
            else:
                user, credential, ends_at = await handshake_database(_websocket_user)(
                    None, scope.get("user"), scope.get("session")
                )
            scope = dict(scope, user=user or AnonymousUser(), auth_credential=credential, auth_ends_at=ends_at)
        return await super().__call__(scope, receive, send)


def language_of(scope) -> str:
    """The page's language for a socket: the language cookie the switcher sets, else the browser's
    Accept-Language, else the default. Error details on the socket are in it."""
    headers = dict(scope.get("headers") or [])
    cookies = scope.get("cookies") or {}
    supported = {code for code, _name in settings.LANGUAGES}
    chosen = cookies.get(settings.LANGUAGE_COOKIE_NAME)
    if chosen in supported:
        return chosen
    accept = headers.get(b"accept-language", b"").decode("latin-1")
    for part in accept.split(","):
        code = part.split(";")[0].strip().lower()
        if not code:
            continue
        try:
            return translation.get_supported_language_variant(code)
        except LookupError:
            continue
    return settings.LANGUAGE_CODE


class SulhConsumer(AsyncJsonWebsocketConsumer):
    """Authenticates at the handshake and closes itself when its user logs out or is deactivated.

    Subclasses override `authorize()` for their own object checks and `joined()` for their setup.
    """

    max_frame_bytes = 16 * 1024
    credential_end: asyncio.Task | None = None  # Closes the socket when its token or browser session ends.

    async def connect(self) -> None:
        self.language = language_of(self.scope)
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not user.is_active or not await self.authorize():
            # Closing before accept makes the server answer the handshake with HTTP 403; the refusal is one log line.
            logger.warning(
                "websocket handshake refused: not logged in or may not attend, on %s from %s",
                self.scope.get("path", "")[:200],
                scope_client_ip(self.scope),
            )
            await self.close()
            return
        self.user = user
        self.own_groups = [user_group(user.pk)]
        credential = self.scope.get("auth_credential")
        if credential:
            self.own_groups.append(credential_group(credential))
        await asyncio.gather(*(self.channel_layer.group_add(group, self.channel_name) for group in self.own_groups))
        await self.accept()
        ends_at = self.scope.get("auth_ends_at")
        if ends_at is not None:  # The credential it was opened with expires: the socket does not outlive it.
            self.credential_end = asyncio.get_running_loop().create_task(self._close_at(ends_at))
        await self.joined()

    async def _close_at(self, ends_at: float) -> None:
        await asyncio.sleep(max(0.0, ends_at - time.time()))
        logger.info("websocket closed: its credential expired")
        await self.close(code=CLOSE_LOGGED_OUT)

    async def dispatch(self, message) -> None:
        """As Channels' own, less the `close_old_connections` it runs on the database thread before every message
        (since Channels 4.2). Every database call of a Sulh consumer goes through database_sync_to_async, which
        closes old connections before and after itself; the extra hop for every frame and every group message
        only queued the sockets' deliveries behind the sessions' database work (a sixth of a server's time with 50
        listeners at 40 lines a second)."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def layer_resync(self, message) -> None:
        """The channel layer is back after an outage (config.layers): a consumer that relays events catches up."""

    async def authorize(self) -> bool:
        return True

    async def joined(self) -> None:
        pass

    async def disconnect(self, code: int) -> None:
        if self.credential_end is not None:
            self.credential_end.cancel()
        for group in getattr(self, "own_groups", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def websocket_receive(self, message) -> None:
        with translation.override(getattr(self, "language", settings.LANGUAGE_CODE)):
            await self.receive_frame(message)

    async def receive_frame(self, message) -> None:
        text = message.get("text")
        if text is None:
            await self.send_error("malformed", "Frames are JSON text.")
            return
        if len(text.encode("utf-8")) > self.max_frame_bytes:
            await self.send_error("frame_too_large", "A frame may be at most 16 KiB.")
            return
        try:
            content = json.loads(text)
        except (ValueError, RecursionError):  # RecursionError: JSON nested thousands deep.
            await self.send_error("malformed", "The frame is not valid JSON.")
            return
        if not isinstance(content, dict) or not isinstance(content.get("type"), str):
            await self.send_error("malformed", 'A frame is a JSON object with a "type".')
            return
        if not _storable(content):
            # PostgreSQL refuses NUL and lone surrogates in text: refused here, before any service runs.
            await self.send_error("malformed", "The frame holds a NUL character or a lone surrogate.")
            return
        await self._session_seen(content["type"])
        await self.receive_json(content)

    async def _session_seen(self, frame_type: str) -> None:
        """A person acting in a socket opened with a browser session is not idle: what they send (not the
        client's own pings and resumes) keeps the session alive, as a page request would (config.sessions)."""
        session = self.scope.get("session")
        if frame_type in {"ping", "pong", "resume"} or session is None:
            return
        now = time.monotonic()
        if now - getattr(self, "_session_seen_at", float("-inf")) < TOUCH_EVERY:
            return
        self._session_seen_at = now
        await database_sync_to_async(_touch_session)(session.session_key)

    async def send_error(self, code: str, detail: str, **extra) -> None:
        await self.send_json({"type": "error", "code": code, "detail": str(detail), **extra})

    async def auth_logout(self, event) -> None:
        """Group message: the credential this socket was opened with is no longer valid."""
        await self.close(code=CLOSE_LOGGED_OUT)

    async def auth_recheck(self, event) -> None:
        """Group message: the user's rights changed (a membership or role removed). A socket they may no longer
        hold closes at once, whichever process holds it; the others stay."""
        user = self.scope.get("user")
        # The permission predicates cache a user's roles on the user object; this one was made at the handshake.
        for cached in ("_sulh_forum_roles", "_sulh_groups"):
            if user is not None and hasattr(user, cached):
                delattr(user, cached)
        if not await self.authorize():
            await self.close(code=CLOSE_NOT_ALLOWED)


def _touch_session(session_key: str | None) -> None:
    """Mark the browser session seen, read afresh: the copy the socket loaded at its handshake is stale (a page may
    have changed the session since, or logged it out)."""
    if not session_key:
        return  # A token socket: no browser session.
    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key=session_key)
    if SESSION_KEY not in store or session_expired(store):
        return  # Logged out or ended meanwhile: nothing to keep alive.
    if session_touch(store):
        try:
            store.save()
        except UpdateError:
            pass  # Deleted by a logout in between.


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _storable(value: object, depth: int = 0) -> bool:
    """Whether every string in a parsed frame can be stored: no NUL, no lone surrogate, nesting not absurd."""
    if depth > 32:
        return False
    if isinstance(value, str):
        return _UNSTORABLE.search(value) is None
    if isinstance(value, dict):
        return all(_storable(k, depth + 1) and _storable(v, depth + 1) for k, v in value.items())
    if isinstance(value, list):
        return all(_storable(v, depth + 1) for v in value)
    return True
