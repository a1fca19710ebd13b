"""Cursor pagination: stable pages while new rows arrive (no offsets that shift)."""

from django.core.exceptions import ValidationError as FieldError
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination


class StableCursor(CursorPagination):
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000
    ordering = "id"

    def paginate_queryset(self, queryset, request, view=None):
        self.model = queryset.model  # decode_cursor checks the cursor's position against it
        return super().paginate_queryset(queryset, request, view)

    def decode_cursor(self, request):
        if not request.query_params.get(self.cursor_query_param):
            return None  # absent or empty: the first page (a client may start its loop with an empty cursor)
        try:
            cursor = super().decode_cursor(request)
            if cursor.position is not None:  # a forged position ("p=2026-13-45") would fail in the query: a 500
                self._position_field().to_python(cursor.position)
            return cursor
        except (NotFound, FieldError):  # DRF answers 404; a malformed parameter is the caller's 400
            raise ValidationError(
                {
                    self.cursor_query_param: [
                        "Invalid cursor: pass the `next` or `previous` link of an earlier page unchanged."
                    ]
                }
            ) from None

    def check(self, request, queryset) -> None:
        """``page_size`` and ``cursor`` checked as for a page: a CSV ignores them, but a bad one is still a 400."""
        self.model = queryset.model
        self.get_page_size(request)
        self.decode_cursor(request)

    def _position_field(self):
        first = self.ordering if isinstance(self.ordering, str) else self.ordering[0]
        return self.model._meta.get_field(first.lstrip("-"))

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
        cursor["schema"]["pattern"] = "^[A-Za-z0-9+/=]*$"  # DRF's cursors are base64
        page_size["description"] = f"Rows per page (default {self.page_size})."
        page_size["schema"].update(minimum=1, maximum=self.max_page_size)
        return [cursor, page_size]


class HourCursor(StableCursor):
    ordering = ("hour", "id")


class DayCursor(StableCursor):
    ordering = ("day", "id")
