from collections import OrderedDict
from typing import Any

from drf_spectacular.utils import OpenApiParameter, inline_serializer
from rest_framework import serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response

MAX_PAGE_SIZE = 200

# The page parameters as the OpenAPI document states them, for API views that paginate by hand.
PAGE_PARAMETERS = [
    OpenApiParameter(
        "page", {"type": "integer", "minimum": 1}, description="From 1; a page past the last is a 404 `not_found`."
    ),
    OpenApiParameter(
        "page_size",
        {"type": "integer", "minimum": 1},
        description=f"How many on a page (default 50; more than {MAX_PAGE_SIZE} gives {MAX_PAGE_SIZE}).",
    ),
]


def paginated(serializer_class: type[serializers.Serializer], name: str | None = None) -> Any:
    """The list shape of the contract around `serializer_class`'s objects, for extend_schema(responses=…)."""
    return inline_serializer(
        name or f"Paginated{serializer_class.__name__.removesuffix('Serializer')}List",
        {
            "count": serializers.IntegerField(min_value=0),
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": serializer_class(many=True),
        },
    )


class Pagination(PageNumberPagination):
    """The contract's list shape: {"count", "next", "previous", "results"}."""

    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE

    def get_paginated_response(self, data):
        assert self.page is not None  # DRF calls paginate_queryset, which sets it, before this.
        return Response(
            OrderedDict(
                [
                    ("count", self.page.paginator.count),
                    ("next", self.get_next_link()),
                    ("previous", self.get_previous_link()),
                    ("results", data),
                ]
            )
        )

    def get_paginated_response_schema(self, schema: dict) -> dict:
        return {
            "type": "object",
            "required": ["count", "next", "previous", "results"],
            "properties": {
                "count": {"type": "integer", "minimum": 0, "example": 123},
                "next": {"type": "string", "format": "uri", "nullable": True},
                "previous": {"type": "string", "format": "uri", "nullable": True},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view: Any) -> list[dict]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"]["minimum"] = 1
        return parameters
