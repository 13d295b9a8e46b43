"""The API's JSON parser: DRF's, with a body nested too deep answered as a 400 like any other bad JSON. Python's
json raises RecursionError a few thousand levels down (PITFALLS.md), which would otherwise be a 500. A body over
DATA_UPLOAD_MAX_MEMORY_SIZE is a 413 before it is read: DRF reads the stream itself and skips Django's own check."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from config.errors import PayloadTooLarge


class JSONBodyParser(JSONParser):
    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        request = (parser_context or {}).get("request")
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if request is not None and limit is not None:
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > limit:
                raise PayloadTooLarge()
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the body is nested too deeply.") from None
