"""A websocket client of a session that behaves as the contract asks every client to (CONTRACT.md section 5,
PITFALLS.md "A Redis restart"): it reconnects by itself with `?after=<last seq>`, sends `resume` when it
sees a gap, and re-sends what it said until its own event comes back (the server deduplicates by
client_id). It records every event frame it receives, on every connection, so a test can check that
nothing arrived twice, out of order, or not at all."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid

import websockets


class SessionClient:
    def __init__(self, base_ws_url: str, origin: str, session_id: int, token: str, name: str = ""):
        self.base = base_ws_url
        self.origin = origin
        self.session_id = session_id
        self.token = token
        self.name = name
        self.last_seq = 0
        self.received: list[dict] = []  # Every event frame, in the order received, over all connections.
        self.applied: list[dict] = []  # Those it took: each seq once, in order (a retry's echo comes twice).
        self.sent_ids: set[str] = set()
        self.outbox: dict[str, dict] = {}  # client_id → frame, until its event comes back.
        self.connections = 0
        self.errors: list[dict] = []
        self.failures: list[str] = []  # Why connections failed or ended.
        self.socket = None
        self._task: asyncio.Task | None = None
        self._stopping = False
        self._connected = asyncio.Event()

    def base_url(self, base_ws_url: str) -> None:
        """Connect to another server process from the next (re)connection on, as a browser page served by it
        would: with that server's origin (the handshake checks scheme, host and port)."""
        self.base = base_ws_url
        self.origin = "http" + base_ws_url.removeprefix("ws")

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run())
        await asyncio.wait_for(self._connected.wait(), 20)

    async def _run(self) -> None:
        delay = 0.1
        while not self._stopping:
            url = f"{self.base}/ws/sessions/{self.session_id}/?after={self.last_seq}"
            try:
                async with websockets.connect(
                    url,
                    additional_headers={"Authorization": f"Token {self.token}"},
                    origin=self.origin,
                    open_timeout=5,
                ) as socket:
                    self.socket = socket
                    welcome = json.loads(await socket.recv())
                    assert welcome["type"] == "welcome", welcome
                    self.participant = welcome["participant"]
                    self.connections += 1
                    self._connected.set()
                    delay = 0.1
                    for frame in list(self.outbox.values()):  # Whatever may not have arrived.
                        await socket.send(json.dumps(frame))
                    async for text in socket:
                        self._receive(json.loads(text))
            except (TimeoutError, OSError, websockets.WebSocketException) as error:
                self.failures.append(repr(error)[:200])
            finally:
                self.socket = None
            if self._stopping:
                return
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)

    def _receive(self, frame: dict) -> None:
        if frame["type"] == "error":
            self.errors.append(frame)
            return
        if frame["type"] != "event":
            return
        self.received.append(frame)
        seq = frame["seq"]
        self.outbox.pop(frame.get("client_id", ""), None)
        if seq <= self.last_seq:
            return  # Already taken: the echo of a frame this client sent again.
        if seq > self.last_seq + 1 and self.socket is not None and self.last_seq:
            # A gap: ask for what is missing (never expected from Sulh, which fills gaps itself).
            asyncio.ensure_future(self.socket.send(json.dumps({"type": "resume", "after": self.last_seq})))
            return
        self.applied.append(frame)
        self.last_seq = seq

    async def say(self, body: str) -> str:
        client_id = uuid.uuid4().hex
        frame = {"type": "say", "body": body, "client_id": client_id}
        self.outbox[client_id] = frame
        self.sent_ids.add(client_id)
        if self.socket is not None:
            with contextlib.suppress(websockets.WebSocketException):
                await self.socket.send(json.dumps(frame))
        return client_id

    async def drop(self) -> None:
        """Lose the connection (as a phone losing signal does); the client reconnects by itself."""
        if self.socket is not None:
            await self.socket.close()

    async def wait_until(self, last_seq: int, seconds: float = 30) -> None:
        async with asyncio.timeout(seconds):
            while self.last_seq < last_seq or self.outbox:  # noqa: ASYNC110 - polling two conditions
                await asyncio.sleep(0.05)

    async def stop(self) -> None:
        self._stopping = True
        if self.socket is not None:
            await self.socket.close()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                self._task.cancel()
                await self._task

    def seqs(self) -> list[int]:
        return [frame["seq"] for frame in self.applied]

    def repeats(self) -> list[dict]:
        """Frames received more than once, by seq."""
        seen, repeated = set(), []
        for frame in self.received:
            if frame["seq"] in seen:
                repeated.append(frame)
            seen.add(frame["seq"])
        return repeated
