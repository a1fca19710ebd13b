"""Cursor pagination: stable pages while new rows arrive (no offsets that shift)."""

from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination


class StableCursor(CursorPagination):
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000
    ordering = "id"

    def decode_cursor(self, request):
        try:
            return super().decode_cursor(request)
        except NotFound:  # DRF answers 404; a malformed parameter is the caller's 400
            raise ValidationError({self.cursor_query_param: "Invalid cursor: pass the `next` or `previous` link "
                                   "of an earlier page unchanged."}) from None

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is not None and not (raw.isdigit() and 1 <= int(raw) <= self.max_page_size):
            raise ValidationError({self.page_size_query_param: f"An integer from 1 to {self.max_page_size}."})
        return super().get_page_size(request)


class HourCursor(StableCursor):
    ordering = ("hour", "id")


class DayCursor(StableCursor):
    ordering = ("day", "id")
