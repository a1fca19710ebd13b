"""The filters every page shares — period, grain, account, region, team and tag — parsed from the URL.

They live in the query string so that a link reproduces a view. A bad value never breaks a page: it is reported
by parameter name and the default is used instead (the API turns the same errors into 400s).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field, replace
from urllib.parse import urlencode

from collectors.regions import COMMERCIAL_REGIONS

PERIODS = {"1d": 1, "7d": 7, "14d": 14, "30d": 30, "90d": 90, "365d": 365}
GRAINS = ("hour", "day", "week", "month")
HOURLY_MAX_DAYS = 31
CUSTOM_MAX_DAYS = 3 * 366
UNTAGGED = "(untagged)"
TEAM_TAG = "team"
ACCOUNT_ID = re.compile(r"^\d{12}$")
TAG = re.compile(r"^(?P<key>[^=]{1,128})=(?P<value>.{0,256})$", re.DOTALL)


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

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def start_time(self) -> dt.datetime:
        return dt.datetime.combine(self.start, dt.time(), dt.UTC)

    @property
    def end_time(self) -> dt.datetime:
        """Exclusive end: midnight after the last day."""
        return dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time(), dt.UTC)

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


def parse(query, today: dt.date, default_period: str = "30d", default_grain: str = "day") -> Filters:
    """Filters from a QueryDict (or dict); every rejected parameter is named in ``errors``."""
    errors: dict[str, str] = {}
    period, start, end = _period(query, today, default_period, errors)
    grain = _choice(query, "grain", GRAINS, default_grain, errors)
    if grain == "hour" and (end - start).days + 1 > HOURLY_MAX_DAYS:
        errors["grain"] = f"Hourly grain covers at most {HOURLY_MAX_DAYS} days; showing days instead."
        grain = "day"
    account = query.get("account", "").strip()
    if account and not ACCOUNT_ID.match(account):
        errors["account"] = "An AWS account id is 12 digits."
        account = ""
    region = query.get("region", "").strip()
    if region and region not in COMMERCIAL_REGIONS:
        errors["region"] = f"Unknown AWS region {region!r}."
        region = ""
    tag = None
    if raw := query.get("tag", ""):
        if match := TAG.match(raw):
            tag = (match["key"], match["value"])
        else:
            errors["tag"] = "Write a tag filter as key=value."
    return Filters(period, start, end, grain, account, region, query.get("team", "").strip()[:256], tag, errors)


def _choice(query, name: str, allowed, default: str, errors: dict) -> str:
    value = query.get(name, "") or default
    if value not in allowed:
        errors[name] = f"{name.capitalize()} must be one of {', '.join(allowed)}."
        return default
    return value


def _period(query, today: dt.date, default: str, errors: dict) -> tuple[str, dt.date, dt.date]:
    period = query.get("period", "") or ("custom" if query.get("from") else default)
    if period == "custom":
        try:
            start = dt.date.fromisoformat(query.get("from", ""))
            end = dt.date.fromisoformat(query.get("to", "") or today.isoformat())
        except ValueError:
            errors["from"] = "Write dates as YYYY-MM-DD."
        else:
            if start > end:
                errors["from"] = "The start date is after the end date."
            elif (end - start).days >= CUSTOM_MAX_DAYS:
                errors["from"] = f"A custom period covers at most {CUSTOM_MAX_DAYS} days."
            else:
                return period, start, end
        period = default
    if period not in PERIODS:
        errors["period"] = f"Period must be one of {', '.join(PERIODS)} or custom (with from and to)."
        period = default
    return period, today - dt.timedelta(days=PERIODS[period] - 1), today
