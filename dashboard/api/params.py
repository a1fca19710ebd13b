"""Query parameters: checked by the same classes that document them, so the OpenAPI schema and the code agree.

The rules every parameter follows: a value that is present but empty (``?since=``) is a 400 naming the
parameter, never read as "absent"; a boolean is ``true`` or ``false``; an id is a positive integer; an AWS
account id is 12 digits. Patterns are written for both JSON Schema (ECMAScript) and Python and matched whole.

Where a parameter means what a page's filter means (a day, an account id, a grain, a period's bounds), it is
checked by the pages' own form fields and rules (``dashboard/footprint/filters.py``, the django-filter FilterSet
every page shares), so a bad value gets the same message here as on a page — here as a 400 naming the parameter,
there as a note beside the defaults.
"""

from __future__ import annotations

import datetime as dt
import re

import django_filters
from django import forms
from django.core.exceptions import ValidationError as FormError
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from dashboard.api.auth import team_of
from dashboard.footprint import filters, queries

BLANK = "Give a value, or leave the parameter out."
ACCOUNT_ID = "^[0-9]{12}$"
ACCOUNT_ID_TEXT = "A 12-digit AWS account id."  # its description in the schema; the error is the pages'
DAY = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
DAY_TEXT = filters.DATE_MESSAGE
# What Django parses, minus its other spellings (week dates, 20261120, ...): a date, its midnight UTC, or a date and
# time, UTC unless an offset is given.
INSTANT = "^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]+)?)?(Z|[+-][0-9]{2}:?[0-9]{2})?)?$"
INSTANT_TEXT = "YYYY-MM-DD, or YYYY-MM-DDTHH:MM[:SS[.ffffff]] with Z or an offset (UTC without one)."


TEAM_TEXT = f"A team: the value of endpoints' `{filters.TEAM_TAG}` tag, or {filters.UNTAGGED} for those without one."


def parsed(params_class, request) -> dict:
    """The request's query parameters checked by ``params_class``; a 400 naming each bad one otherwise. A
    ``team`` is checked against the team tags in use and adds ``team_endpoints``: the ids of its endpoints."""
    checked = params_class(data=request.query_params)
    checked.is_valid(raise_exception=True)
    query = dict(checked.validated_data)
    if "team" in query:
        query["team_endpoints"], error = team_scope(team_of(request), query["team"])
        if error:
            raise ValidationError({"team": [error]})
    return query


def team_scope(team, value: str) -> tuple[list[int], str | None]:
    """The ids of ``team``'s endpoints whose team tag is ``value``, and the pages' message when no endpoint has
    it (``filters.TEAM_MESSAGE``): which endpoints a team means is the pages' rule (``Filters.matches``)."""
    endpoints = queries.team_endpoints(team)
    view = filters.parse({"team": value}, timezone.now().date(), teams=filters.team_tags(endpoints))
    if error := view.errors.get("team"):
        return [], error
    return [endpoint["id"] for endpoint in queries.in_view(endpoints, view)], None


def _whole(pattern: str, value: str) -> bool:
    return re.fullmatch(pattern.removeprefix("^").removesuffix("$"), value) is not None


account_id = filters.account_id  # the pages' check, message and all


def _form_clean(form_field: forms.Field, value):
    """A page's form field cleaning an API value; its messages become the 400's."""
    try:
        return form_field.clean(value)
    except FormError as error:
        raise ValidationError(error.messages) from error


@extend_schema_field({"type": "string", "pattern": ACCOUNT_ID, "description": ACCOUNT_ID_TEXT})
class AccountIdField(serializers.CharField):
    # Stricter than the pages, which trim what a user typed into the URL: here "111122223333 " is not an account
    # id, as the documented pattern says (a client sends exactly what it means).
    def __init__(self, **kwargs):
        super().__init__(validators=[account_id], trim_whitespace=False, **kwargs)


@extend_schema_field({"type": "string", "minLength": 1, "description": "An AWS region code, e.g. eu-west-1"})
class RegionField(serializers.CharField):
    """A region the product knows (``collectors.regions``), with the pages' message for any other: a typo
    would otherwise answer an empty result that looks like a region without endpoints."""

    def __init__(self, **kwargs):
        super().__init__(validators=[filters.known_region], max_length=32, **kwargs)


@extend_schema_field({"type": "string", "minLength": 1, "description": TEAM_TEXT})
class TeamField(serializers.CharField):
    """A team tag; ``parsed`` checks it against the tags in use and resolves its endpoints."""

    def __init__(self, **kwargs):
        super().__init__(max_length=filters.TEAM_MAX, **kwargs)


@extend_schema_field({"type": "string", "format": "date"})
class DayField(serializers.DateField):
    """YYYY-MM-DD, checked by the pages' date field (``from`` and ``to``)."""

    def to_internal_value(self, value):
        if not isinstance(value, str):
            raise ValidationError(DAY_TEXT)
        return _form_clean(filters.IsoDateField(required=False), value)


@extend_schema_field({"type": "string", "enum": list(filters.GRAINS)})
class GrainField(serializers.ChoiceField):
    """hour, day, week or month, with the pages' message for any other value."""

    def __init__(self, **kwargs):
        super().__init__(filters.GRAINS, error_messages={"invalid_choice": filters.GRAIN_MESSAGE}, **kwargs)


class PeriodRules:
    """The pages' rules across a period's parameters, under the API's names: ``start`` and ``end`` (the pages'
    ``from`` and ``to``, defaulting to the ``default_days`` up to today) and, when present, ``grain``. Mixed into
    a ``QueryParams`` whose ``validate`` calls ``check_period``."""

    default_days = 30

    def check_period(self, attrs: dict, today: dt.date | None = None) -> dict:
        attrs.setdefault("end", today or timezone.now().date())
        attrs.setdefault("start", attrs["end"] - dt.timedelta(days=self.default_days - 1))
        if error := filters.period_error(attrs["start"], attrs["end"]):
            raise ValidationError({"start": [error]})
        if "grain" in attrs and (error := filters.grain_error(attrs["grain"], attrs["start"], attrs["end"])):
            raise ValidationError({"grain": [error]})
        return attrs


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


@extend_schema_field({"type": "string", "minLength": 1, "description": "An AWS region code, e.g. eu-west-1"})
class RegionFilter(django_filters.CharFilter):
    """A known region, as on the pages (``RegionField``)."""

    def __init__(self, **kwargs):
        super().__init__(validators=[filters.known_region], **kwargs)


@extend_schema_field({"type": "string", "minLength": 1, "description": TEAM_TEXT})
class TeamFilter(django_filters.CharFilter):
    """The endpoints (``field_name``: the endpoint's id) of a team tag; ``StrictFilterSet`` checks the value
    against the tags in use, a 400 with the pages' message for one no endpoint has."""

    def filter(self, qs, value):
        if not value:
            return qs
        return qs.filter(**{f"{self.field_name}__in": self.parent.team_endpoints})


@extend_schema_field({"type": "integer", "minimum": 1})
class IdFilter(django_filters.NumberFilter):
    """An object id: a positive integer (django-filter's NumberFilter would take ``1.5`` or ``-3``)."""

    field_class = forms.IntegerField

    def __init__(self, **kwargs):
        super().__init__(min_value=1, **kwargs)


@extend_schema_field({"type": "string", "format": "date"})
class DayFilter(django_filters.DateFilter):
    """YYYY-MM-DD only (Django's form would also read 11/20/2026, the US way): the pages' date field."""

    field_class = filters.IsoDateField


@extend_schema_field({"type": "boolean"})
class FlagFilter(django_filters.BooleanFilter):
    """``true`` or ``false`` (django-filter would ignore any other value, ``?deleted=maybe`` included)."""


class StrictFilterSet(django_filters.FilterSet):
    team_endpoints: list[int] = []

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
            elif isinstance(field, TeamFilter):
                self.team_endpoints, error = team_scope(team_of(self.request), raw)
                if error:
                    self.form.add_error(name, error)
        return super().is_valid()
