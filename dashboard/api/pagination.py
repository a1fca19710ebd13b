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
            return None  # absent or empty: the first page
        try:
            return super().decode_cursor(request)
        except NotFound:  # DRF answers 404; a malformed parameter is the caller's 400
            raise ValidationError({self.cursor_query_param: "Invalid cursor: pass the `next` or `previous` link "
                                   "of an earlier page unchanged."}) from None

    def get_page_size(self, request):
        """Above ``max_page_size`` is capped to it; anything but a positive integer is a 400."""
        raw = request.query_params.get(self.page_size_query_param)
        if raw is not None and not (raw.isdigit() and int(raw) >= 1):
            raise ValidationError({self.page_size_query_param: f"A positive integer (at most {self.max_page_size} "
                                   "are returned)."})
        return super().get_page_size(request)


class HourCursor(StableCursor):
    ordering = ("hour", "id")


class DayCursor(StableCursor):
    ordering = ("day", "id")
