"""The filters every page shares — period, grain, account, region, team and tag — parsed from the URL.

They live in the query string so that a link reproduces a view. ``FootprintFilterSet`` (django-filter) declares
them and its form validates them; its fields, rules and messages are the API's too (``dashboard/api/params.py``),
so a bad value gets the same message on a page and in the API. What differs is what happens next: a page never
breaks, it names the bad parameter and uses the default instead (``parse``); the API answers 400 naming it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlencode

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from collectors.models import Endpoint
from collectors.regions import COMMERCIAL_REGIONS

PERIODS = {"1d": 1, "7d": 7, "14d": 14, "30d": 30, "90d": 90, "365d": 365}
# What a named period is, in words: a rolling window of whole hours ending now (``parse`` with ``now``), not
# calendar days. A custom range (``from``/``to``) is calendar days, named by its dates.
PERIOD_LABELS = {
    "1d": "Last 24 hours",
    "7d": "Last 7 days",
    "14d": "Last 14 days",
    "30d": "Last 30 days",
    "90d": "Last 90 days",
    "365d": "Last 365 days",
}
HOUR = dt.timedelta(hours=1)
GRAINS = ("hour", "day", "week", "month")
HOURLY_MAX_DAYS = 31
CUSTOM_MAX_DAYS = 3 * 366
UNTAGGED = "(untagged)"
TEAM_TAG = "team"
# ASCII digits, matched whole (``\d`` would take other scripts' digits, ``$`` a trailing newline).
ACCOUNT_ID = re.compile(r"[0-9]{12}\Z")
DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
TAG = re.compile(r"^(?P<key>[^=]{1,128})=(?P<value>.{0,256})$", re.DOTALL)
TEAM_MAX = 256

# The one set of messages, pages and API alike.
PERIOD_MESSAGE = f"Period must be one of {', '.join(PERIODS)} or custom (with from and to)."
DATE_MESSAGE = "Write dates as YYYY-MM-DD."
START_AFTER_END_MESSAGE = "The start date is after the end date."
SPAN_MESSAGE = f"A period covers at most {CUSTOM_MAX_DAYS} days."
GRAIN_MESSAGE = f"Grain must be one of {', '.join(GRAINS)}."
HOURLY_MESSAGE = f"Hourly grain covers at most {HOURLY_MAX_DAYS} days."
ACCOUNT_MESSAGE = "An AWS account id is 12 digits."
REGION_MESSAGE = "Unknown AWS region %(value)r."
TAG_MESSAGE = "Write a tag filter as key=value."
TEAM_MESSAGE = "No endpoint has the team tag %(value)r."


# --- the rules, shared by the form below and the API's parameters ------------------------------------------


def period_error(start: dt.date, end: dt.date) -> str | None:
    """What is wrong with the days ``start``..``end`` (inclusive) as a period, if anything."""
    if start > end:
        return START_AFTER_END_MESSAGE
    if (end - start).days >= CUSTOM_MAX_DAYS:
        return SPAN_MESSAGE
    return None


def grain_error(grain: str, start: dt.date, end: dt.date) -> str | None:
    if grain == "hour" and (end - start).days + 1 > HOURLY_MAX_DAYS:
        return HOURLY_MESSAGE
    return None


def account_id(value: str) -> None:
    if not ACCOUNT_ID.match(value):
        raise ValidationError(ACCOUNT_MESSAGE, code="invalid")


def known_region(value: str) -> None:
    if value not in COMMERCIAL_REGIONS:
        raise ValidationError(REGION_MESSAGE, code="invalid", params={"value": value})


class IsoDateField(forms.DateField):
    """YYYY-MM-DD only (Django's form would also read 11/20/2026, the US way; ``date.fromisoformat`` 20261120)."""

    default_error_messages = {"invalid": DATE_MESSAGE}

    def to_python(self, value):
        if value not in self.empty_values and not (isinstance(value, str) and DAY.match(value)):
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(value)


class AccountIdField(forms.CharField):
    default_validators = [account_id]


class RegionField(forms.CharField):
    default_validators = [known_region]


class TeamField(forms.CharField):
    """A team tag's value, trimmed and cut to the longest a tag value can be."""

    def to_python(self, value):
        return super().to_python(value)[:TEAM_MAX]


class TagField(forms.CharField):
    """``key=value``, cleaned to the pair ``(key, value)``; the value may be empty, never trimmed."""

    def __init__(self, **kwargs):
        super().__init__(strip=False, **kwargs)

    def clean(self, value):
        value = super().clean(value)
        if not value:
            return None
        if not (match := TAG.match(value)):
            raise ValidationError(TAG_MESSAGE, code="invalid")
        return (match["key"], match["value"])


# --- the FilterSet --------------------------------------------------------------------------------------------


class FootprintForm(forms.Form):
    """Each field checked alone, then the rules across them: a custom period's bounds and span, the hourly grain's
    limit, a team that exists. ``view`` is what to show: the valid values, the defaults in place of the bad ones."""

    today: dt.date
    default_period = "30d"
    default_grain = "day"
    teams: frozenset[str] | None = None  # the team tags in use, when the caller knows them

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        period, start, end = self._period(data)
        # The last 24 hours read by day would be two partial days: by hour unless a grain is asked for.
        grain = data.get("grain") or ("hour" if period == "1d" else self.default_grain)
        if error := grain_error(grain, start, end):
            self.add_error("grain", error)
            grain = "day"
        team = data.get("team") or ""
        if team and self.teams is not None and team not in self.teams:
            self.add_error("team", ValidationError(TEAM_MESSAGE, code="unknown", params={"value": team}))
        self.view = (period, start, end, grain)
        return data

    def _period(self, data: dict) -> tuple[str, dt.date, dt.date]:
        if "period" in self.errors:
            period = self.default_period
        else:
            period = data.get("period") or ("custom" if self.data.get("from") else self.default_period)
        if period == "custom":
            start, end = data.get("from"), data.get("to") or self.today
            if not start:
                if "from" not in self.errors:
                    self.add_error("from", DATE_MESSAGE)
            elif "to" not in self.errors and (error := period_error(start, end)):
                self.add_error("from", error)
            elif "to" not in self.errors:
                return period, start, end
            period = self.default_period
        return period, self.today - dt.timedelta(days=PERIODS[period] - 1), self.today


class FieldFilter(django_filters.Filter):
    """A filter whose form field is given per instance (``field_class=``)."""

    def __init__(self, *, field_class: type[forms.Field], **kwargs):
        self.field_class = field_class
        super().__init__(**kwargs)


def _in_view(queryset: QuerySet, name: str, value: Any) -> QuerySet:
    """The FilterSet validates; it narrows nothing. Which endpoints are in view has one definition,
    ``Filters.matches``, applied to the rows a page already holds (no second query, no second rule)."""
    return queryset


class FootprintFilterSet(django_filters.FilterSet):
    """The shared parameters and their checks (its form); ``parse`` turns them into ``Filters``."""

    period = FieldFilter(
        field_class=forms.ChoiceField,
        choices=[*((name, name) for name in PERIODS), ("custom", "custom")],
        error_messages={"invalid_choice": PERIOD_MESSAGE},
        method=_in_view,
    )
    # from: a Python keyword, so it is added below the class, between period and to.
    to = FieldFilter(field_class=IsoDateField, method=_in_view)
    grain = FieldFilter(
        field_class=forms.ChoiceField,
        choices=[(name, name) for name in GRAINS],
        error_messages={"invalid_choice": GRAIN_MESSAGE},
        method=_in_view,
    )
    account = FieldFilter(field_class=AccountIdField, method=_in_view)
    region = FieldFilter(field_class=RegionField, method=_in_view)
    team = FieldFilter(field_class=TeamField, method=_in_view)
    tag = FieldFilter(field_class=TagField, method=_in_view)

    class Meta:
        model = Endpoint
        fields: list[str] = []
        form = FootprintForm

    def __init__(  # noqa: PLR0913 - django-filter's own arguments, then the view's today, defaults and teams
        self,
        data=None,
        queryset=None,
        *,
        today: dt.date,
        default_period: str = "30d",
        default_grain: str = "day",
        teams: Iterable[str] | None = None,
        **kwargs,
    ):
        super().__init__(data, queryset, **kwargs)
        self.form_settings = {
            "today": today,
            "default_period": default_period,
            "default_grain": default_grain,
            "teams": None if teams is None else frozenset(teams),
        }

    def get_form_class(self):
        return type("FootprintForm", (super().get_form_class(),), dict(self.form_settings))


def _with_from(declared: dict) -> dict:
    declared = dict(declared)
    period = declared.pop("period")
    return {
        "period": period,
        "from": FieldFilter(field_class=IsoDateField, field_name="from", method=_in_view),
        **declared,
    }


FootprintFilterSet.declared_filters = _with_from(FootprintFilterSet.declared_filters)
FootprintFilterSet.base_filters = _with_from(FootprintFilterSet.base_filters)
PARAMETERS = tuple(FootprintFilterSet.base_filters)  # period, from, to, grain, account, region, team, tag


@dataclass(frozen=True)
class Filters:
    """A validated view: UTC days ``start``..``end`` inclusive, a grain, and which endpoints count."""

    period: str
    start: dt.date
    end: dt.date
    grain: str
    account: str = ""
    region: str = ""
    team: str = ""
    tag: tuple[str, str] | None = None
    errors: dict[str, str] = field(default_factory=dict, compare=False)
    # A rolling period's exact bounds (whole UTC hours, end exclusive); ``start``..``end`` are then the days it
    # touches, the first and last of them partly. None for calendar days (a custom range, a digest's week).
    window: tuple[dt.datetime, dt.datetime] | None = None

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def start_time(self) -> dt.datetime:
        if self.window:
            return self.window[0]
        return dt.datetime.combine(self.start, dt.time(), dt.UTC)

    @property
    def end_time(self) -> dt.datetime:
        """Exclusive end: the window's end, or midnight after the last day."""
        if self.window:
            return self.window[1]
        return dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time(), dt.UTC)

    @property
    def label(self) -> str:
        """The period in words, with its bounds: "Last 7 days (19 Nov 15:00 – 26 Nov 15:00 UTC)", or the days of a
        calendar range."""
        if self.window:
            start, end = self.window
            return f"{PERIOD_LABELS[self.period]} ({start:%d %b %H:%M} – {end:%d %b %H:%M} UTC)"
        if self.start == self.end:
            return f"{self.start:%d %b %Y} (UTC day)"
        return f"{self.start:%d %b %Y} – {self.end:%d %b %Y} (UTC days)"

    @property
    def narrows_endpoints(self) -> bool:
        return bool(self.account or self.region or self.team or self.tag)

    def params(self) -> dict[str, str]:
        """The query parameters that reproduce this view (defaults left out)."""
        values = {
            "period": self.period,
            "grain": self.grain,
            "account": self.account,
            "region": self.region,
            "team": self.team,
            "tag": f"{self.tag[0]}={self.tag[1]}" if self.tag else "",
        }
        if self.period == "custom":
            values.update({"from": self.start.isoformat(), "to": self.end.isoformat()})
        return {name: value for name, value in values.items() if value}

    def query(self, **overrides) -> str:
        params = {**self.params(), **overrides}
        return urlencode({name: value for name, value in params.items() if value not in (None, "")})

    def matches(self, endpoint: dict) -> bool:
        """Whether an endpoint (``account_id``, ``region``, ``tags``) is in view."""
        tags = endpoint["tags"] or {}
        return (
            (not self.account or endpoint["account__account_id"] == self.account)
            and (not self.region or endpoint["region"] == self.region)
            and (not self.team or tags.get(TEAM_TAG, UNTAGGED) == self.team)
            and (not self.tag or tags.get(self.tag[0]) == self.tag[1])
        )

    def with_grain(self, grain: str) -> Filters:
        return replace(self, grain=grain)


def team_tags(endpoints: Iterable[dict]) -> set[str]:
    """The team tags of endpoints (``tags`` rows), ``(untagged)`` for those without: what ``teams=`` expects."""
    return {(endpoint["tags"] or {}).get(TEAM_TAG, UNTAGGED) for endpoint in endpoints}


def parse(  # noqa: PLR0913 - the query, its day, defaults, then what the caller knows (teams, now)
    query,
    today: dt.date,
    default_period: str = "30d",
    default_grain: str = "day",
    *,
    teams: Iterable[str] | None = None,
    now: dt.datetime | None = None,
) -> Filters:
    """Filters from a QueryDict (or dict); every rejected parameter is named in ``errors`` (its first message) and
    its default used. With ``teams`` (the team tags in use), a team that matches none is rejected too.

    With ``now`` (what the pages pass), a named period is a rolling window (``rolling_window``): "7d" is the last
    7 x 24 whole hours. Without it, the named period's calendar days up to ``today``."""
    filterset = FootprintFilterSet(
        query, today=today, default_period=default_period, default_grain=default_grain, teams=teams
    )
    form = filterset.form
    form.is_valid()
    errors = {name: form.errors[name][0] for name in PARAMETERS if name in form.errors}
    period, start, end, grain = form.view
    data = form.cleaned_data
    window = None
    if now is not None and period in PERIODS:
        window = rolling_window(period, today, now)
        start, end = window[0].date(), (window[1] - HOUR).date()
    return Filters(
        period,
        start,
        end,
        grain,
        data.get("account") or "",
        data.get("region") or "",
        data.get("team") or "",
        data.get("tag"),
        errors,
        window,
    )


def rolling_window(period: str, today: dt.date, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """A named period's bounds: the ``PERIODS[period]`` x 24 whole hours before the current hour (the hour under
    way is not over: it is left out), or before the midnight after ``today`` when that is earlier (a past day
    asked for)."""
    end = min(
        now.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0),
        dt.datetime.combine(today + dt.timedelta(days=1), dt.time(), dt.UTC),
    )
    return end - dt.timedelta(days=PERIODS[period]), end
