from collections import OrderedDict

from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response


class Pagination(PageNumberPagination):
    """The contract's list shape: {"count", "next", "previous", "results"}."""

    page_size_query_param = "page_size"
    max_page_size = 200

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
