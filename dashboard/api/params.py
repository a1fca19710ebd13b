"""Query parameters: checked by the same classes that document them, so the OpenAPI schema and the code agree.

The rules every parameter follows: a value that is present but empty (``?since=``) is a 400 naming the
parameter, never read as "absent"; a boolean is ``true`` or ``false``; an id is a positive integer; an AWS
account id is 12 digits. Patterns are written for both JSON Schema (ECMAScript) and Python and matched whole.
"""

from __future__ import annotations

import re

import django_filters
from django import forms
from django.core.exceptions import ValidationError as FormError
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ValidationError

BLANK = "Give a value, or leave the parameter out."
ACCOUNT_ID = "^[0-9]{12}$"
ACCOUNT_ID_TEXT = "A 12-digit AWS account id."
DAY = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
DAY_TEXT = "A date: YYYY-MM-DD."
# What Django parses, minus its other spellings (week dates, 20261120, ...): a date, its midnight UTC, or a date and
# time, UTC unless an offset is given.
INSTANT = "^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]+)?)?(Z|[+-][0-9]{2}:?[0-9]{2})?)?$"
INSTANT_TEXT = "YYYY-MM-DD, or YYYY-MM-DDTHH:MM[:SS[.ffffff]] with Z or an offset (UTC without one)."


def parsed(params_class, request) -> dict:
    """The request's query parameters checked by ``params_class``; a 400 naming each bad one otherwise."""
    checked = params_class(data=request.query_params)
    checked.is_valid(raise_exception=True)
    return checked.validated_data


def _whole(pattern: str, value: str) -> bool:
    return re.fullmatch(pattern.removeprefix("^").removesuffix("$"), value) is not None


def account_id(value: str) -> None:
    if not _whole(ACCOUNT_ID, value):
        raise FormError(ACCOUNT_ID_TEXT)


@extend_schema_field({"type": "string", "pattern": ACCOUNT_ID, "description": ACCOUNT_ID_TEXT})
class AccountIdField(serializers.CharField):
    def __init__(self, **kwargs):  # untrimmed: "111122223333 " is not an account id, as the pattern says
        super().__init__(validators=[account_id], trim_whitespace=False, **kwargs)


@extend_schema_field({"type": "string", "format": "date"})
class DayField(serializers.DateField):
    def to_internal_value(self, value):
        if not isinstance(value, str) or not _whole(DAY, value):
            raise ValidationError(DAY_TEXT)
        return super().to_internal_value(value)


@extend_schema_field({"type": "string", "pattern": INSTANT})
class InstantField(serializers.DateTimeField):
    def to_internal_value(self, value):
        if not isinstance(value, str) or not _whole(INSTANT, value):
            raise ValidationError(INSTANT_TEXT)
        return super().to_internal_value(value)


class QueryParams(serializers.Serializer):
    """Query parameters checked like a request body. DRF reads an empty optional value as absent; here it is
    refused, so ``?start=`` never silently means "the default period"."""

    def to_internal_value(self, data):
        blank = {name: [BLANK] for name in self.fields if name in data and not str(data.get(name)).strip()}
        if blank:
            raise ValidationError(blank)
        return super().to_internal_value(data)


# --- django-filter: the same rules for the list resources' filters ----------------------------------------


@extend_schema_field({"type": "string", "minLength": 1})
class TextFilter(django_filters.CharFilter):
    """A non-empty text filter."""


@extend_schema_field({"type": "string", "pattern": ACCOUNT_ID, "description": ACCOUNT_ID_TEXT})
class AccountIdFilter(django_filters.CharFilter):
    def __init__(self, **kwargs):
        super().__init__(validators=[account_id], strip=False, **kwargs)


@extend_schema_field({"type": "integer", "minimum": 1})
class IdFilter(django_filters.NumberFilter):
    """An object id: a positive integer (django-filter's NumberFilter would take ``1.5`` or ``-3``)."""

    field_class = forms.IntegerField

    def __init__(self, **kwargs):
        super().__init__(min_value=1, **kwargs)


class IsoDateField(forms.DateField):
    def to_python(self, value):
        if value not in self.empty_values and not _whole(DAY, value):
            raise FormError(DAY_TEXT, code="invalid")
        return super().to_python(value)


@extend_schema_field({"type": "string", "format": "date"})
class DayFilter(django_filters.DateFilter):
    """YYYY-MM-DD only (Django's form would also read 11/20/2026, the US way)."""

    field_class = IsoDateField


@extend_schema_field({"type": "boolean"})
class FlagFilter(django_filters.BooleanFilter):
    """``true`` or ``false`` (django-filter would ignore any other value, ``?deleted=maybe`` included)."""


class StrictFilterSet(django_filters.FilterSet):
    def is_valid(self):
        self.form.errors  # noqa: B018 -- runs the form's own checks first, so ours add to them
        for name, field in self.filters.items():
            if name not in self.data:
                continue
            raw = self.data.get(name)
            if not raw.strip():
                self.form.add_error(name, BLANK)
            elif isinstance(field, FlagFilter) and raw not in ("true", "false"):
                self.form.add_error(name, "true or false.")
        return super().is_valid()
