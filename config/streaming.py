"""Streamed bodies under ASGI. Django's ASGI handler reads a streaming response with a synchronous iterator into one
list in a worker thread before sending a byte (and warns: "StreamingHttpResponse must consume synchronous
iterators"), which defeats streaming a CSV and holds a whole font in memory per request. Here such bodies become
asynchronous iterators that take their parts from a worker thread a batch at a time. Under WSGI (and Django's test
client) the synchronous iterator stays as it is."""

from __future__ import annotations

import itertools
import zlib
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from typing import Any, cast

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.http import FileResponse, HttpRequest, StreamingHttpResponse
from django.utils.cache import patch_vary_headers
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


def _gzipped(lines: Iterable[str]) -> Iterator[bytes]:
    """One gzip stream of the lines, in pieces of about 64 KiB of text."""
    compressor = zlib.compressobj(6, zlib.DEFLATED, 31)  # wbits 31: a gzip header and trailer.
    pending: list[str] = []
    size = 0
    for line in lines:
        pending.append(line)
        size += len(line)
        if size >= FILE_BLOCK:
            if piece := compressor.compress("".join(pending).encode()):
                yield piece
            pending, size = [], 0
    yield compressor.compress("".join(pending).encode()) + compressor.flush()


def streaming_response(request: HttpRequest, lines: Iterable[str], *, content_type: str) -> StreamingHttpResponse:
    """A response streaming `lines`. Under ASGI they are taken from a worker thread, and compressed here as one gzip
    stream when the client accepts it: Django's GZipMiddleware compresses each part of an asynchronous stream
    as a gzip stream of its own, of which browsers read only the first (Django 5.2). Under WSGI the middleware
    compresses the synchronous stream as one."""
    underlying = getattr(request, "_request", request)  # A DRF Request wraps Django's.
    if not isinstance(underlying, ASGIRequest):
        return StreamingHttpResponse(lines, content_type=content_type)
    if "gzip" not in underlying.headers.get("Accept-Encoding", ""):
        return StreamingHttpResponse(in_threads(lines), content_type=content_type)
    response = StreamingHttpResponse(in_threads(_gzipped(lines), batch=1), content_type=content_type)
    response["Content-Encoding"] = "gzip"  # GZipMiddleware leaves an encoded response alone.
    patch_vary_headers(response, ("Accept-Encoding",))
    return response


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
