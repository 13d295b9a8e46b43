"""The API's JSON parser: DRF's, with a body nested too deep answered as a 400 like any other bad JSON. Python's
json raises RecursionError a few thousand levels down (PITFALLS.md), which would otherwise be a 500."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class JSONBodyParser(JSONParser):
    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the body is nested too deeply.") from None
