"""Cursor pagination: stable pages while new rows arrive (no offsets that shift)."""

from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination


class StableCursor(CursorPagination):
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000
    ordering = "id"

    def decode_cursor(self, request):
        if not request.query_params.get(self.cursor_query_param):
            return None  # absent or empty: the first page (a client may start its loop with an empty cursor)
        try:
            return super().decode_cursor(request)
        except NotFound:  # DRF answers 404; a malformed parameter is the caller's 400
            raise ValidationError({self.cursor_query_param: ["Invalid cursor: pass the `next` or `previous` link "
                                                             "of an earlier page unchanged."]}) from None

    def get_page_size(self, request):
        """From 1 to ``max_page_size``; anything else is a 400 naming the parameter (the schema's bounds)."""
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not (raw.isascii() and raw.isdigit() and 1 <= int(raw) <= self.max_page_size):
            raise ValidationError({self.page_size_query_param: [f"An integer from 1 to {self.max_page_size}."]})
        return int(raw)

    def get_schema_operation_parameters(self, view):
        cursor, page_size = super().get_schema_operation_parameters(view)
        cursor["description"] = "The `next` or `previous` link's cursor; absent or empty: the first page."
        page_size["description"] = f"Rows per page (default {self.page_size})."
        page_size["schema"].update(minimum=1, maximum=self.max_page_size)
        return [cursor, page_size]


class HourCursor(StableCursor):
    ordering = ("hour", "id")


class DayCursor(StableCursor):
    ordering = ("day", "id")
