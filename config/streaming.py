"""Streamed bodies under ASGI. Django's ASGI handler reads a streaming response with a synchronous iterator into one
list in a worker thread before sending a byte (and warns: "StreamingHttpResponse must consume synchronous
iterators"), which defeats streaming a CSV and holds a whole font in memory per request. Here such bodies become
asynchronous iterators that take their parts from a worker thread a batch at a time. Under WSGI (and Django's test
client) the synchronous iterator stays as it is."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any, cast

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.http import FileResponse, HttpRequest
from whitenoise.middleware import WhiteNoiseMiddleware

FILE_BLOCK = 64 * 1024  # Bytes read from a static file per step.


def in_threads(
    iterable: Iterable[Any], *, batch: int = 64, close: Callable[[], None] | None = None
) -> AsyncIterator[Any]:
    """An asynchronous iterator over a synchronous one: up to `batch` parts at a time, taken in a worker thread.
    `close` (if given) runs when the body ends or the client goes away."""
    iterator = iter(iterable)

    def take() -> list[Any]:
        return list(itertools.islice(iterator, batch))

    async def parts() -> AsyncIterator[Any]:
        try:
            while chunk := await sync_to_async(take, thread_sensitive=False)():
                for part in chunk:
                    yield part
        finally:
            if close is not None:
                await sync_to_async(close, thread_sensitive=False)()

    return parts()


def for_server(request: HttpRequest, iterable: Iterable[Any]) -> Iterable[Any] | AsyncIterator[Any]:
    """What a StreamingHttpResponse should stream for this request: asynchronous under ASGI."""
    underlying = getattr(request, "_request", request)  # A DRF Request wraps Django's.
    return in_threads(iterable) if isinstance(underlying, ASGIRequest) else iterable


class StaticFilesMiddleware(WhiteNoiseMiddleware):
    """WhiteNoise, whose file responses are read block by block in a worker thread under ASGI instead of whole."""

    def __call__(self, request: HttpRequest):
        response = super().__call__(request)
        if isinstance(request, ASGIRequest) and isinstance(response, FileResponse) and not response.is_async:
            handle = getattr(response, "file_to_stream", None)
            if handle is not None:
                blocks = iter(lambda: handle.read(FILE_BLOCK), b"")
                response.streaming_content = in_threads(blocks, batch=1, close=handle.close)
            else:  # HEAD, 304 Not Modified: no file, an empty body.
                response.streaming_content = in_threads(cast(Iterable[bytes], response.streaming_content))
        return response
