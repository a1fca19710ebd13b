"""The filters every page shares (``dashboard/footprint/filters.py``): the FilterSet's form validates them, a page
names each bad value and uses the default instead. Every date here is fixed: nothing reads the wall clock."""

import datetime as dt

import pytest
from django.http import QueryDict

from dashboard.footprint import filters
from dashboard.footprint.filters import parse

TODAY = dt.date(2026, 11, 20)


def test_no_parameters_is_the_default_view():
    view = parse(QueryDict(), TODAY)
    assert (view.period, view.start, view.end, view.grain) == ("30d", dt.date(2026, 10, 22), TODAY, "day")
    assert (view.account, view.region, view.team, view.tag, view.errors) == ("", "", "", None, {})


def test_every_shared_parameter_is_read():
    query = QueryDict(
        "from=2026-11-01&to=2026-11-10&grain=hour&account=%20111122223333%20&region=eu-west-1&team=%20ml%20&tag=a=b=c"
    )
    view = parse(query, TODAY)
    assert view.errors == {}
    assert (view.period, view.start, view.end, view.grain) == (
        "custom",
        dt.date(2026, 11, 1),
        dt.date(2026, 11, 10),
        "hour",
    )
    assert (view.account, view.region, view.team, view.tag) == ("111122223333", "eu-west-1", "ml", ("a", "b=c"))
    assert parse(QueryDict(view.query()), TODAY) == view  # a link reproduces the view


def test_page_defaults_are_the_callers():
    view = parse({}, TODAY, default_period="14d", default_grain="hour")
    assert (view.period, view.start, view.grain) == ("14d", dt.date(2026, 11, 7), "hour")
    view = parse({"period": "90d"}, TODAY, default_period="14d", default_grain="hour")
    assert view.grain == "day" and view.errors == {"grain": filters.HOURLY_MESSAGE}  # hourly falls back to days


@pytest.mark.parametrize(
    ("query", "named", "message"),
    [
        ({"period": "2y"}, "period", filters.PERIOD_MESSAGE),
        ({"period": "custom"}, "from", filters.DATE_MESSAGE),
        ({"from": "11/20/2026"}, "from", filters.DATE_MESSAGE),
        ({"from": "20261101"}, "from", filters.DATE_MESSAGE),
        ({"from": "2026-13-45"}, "from", filters.DATE_MESSAGE),
        ({"from": "2026-11-01", "to": "2026-W47-5"}, "to", filters.DATE_MESSAGE),
        ({"from": "2026-11-10", "to": "2026-11-01"}, "from", filters.START_AFTER_END_MESSAGE),
        ({"from": "2023-11-18"}, "from", filters.SPAN_MESSAGE),
        ({"grain": "minute"}, "grain", filters.GRAIN_MESSAGE),
        ({"period": "90d", "grain": "hour"}, "grain", filters.HOURLY_MESSAGE),
        ({"from": "2026-10-20", "grain": "hour"}, "grain", filters.HOURLY_MESSAGE),
        ({"account": "12345"}, "account", filters.ACCOUNT_MESSAGE),
        ({"account": "١١١١٢٢٢٢٣٣٣٣"}, "account", filters.ACCOUNT_MESSAGE),  # Arabic-Indic digits are not an id
        ({"region": "mars-north-1"}, "region", "Unknown AWS region 'mars-north-1'."),
        ({"tag": "team"}, "tag", filters.TAG_MESSAGE),
    ],
)
def test_a_bad_value_is_named_and_the_default_used(query, named, message):
    view = parse(query, TODAY)
    assert view.errors == {named: message}
    if named in ("period", "from", "to"):
        default = parse({}, TODAY)
        assert (view.period, view.start, view.end) == (default.period, default.start, default.end)
    assert view.grain == "day" and (view.account, view.region, view.tag) == ("", "", None)


def test_the_longest_custom_period_and_hourly_span_are_allowed():
    assert parse({"from": "2023-11-19"}, TODAY).errors == {}  # 1098 days
    assert parse({"from": "2026-10-21", "grain": "hour"}, TODAY).errors == {}  # 31 days


def test_errors_are_listed_in_the_parameters_order():
    query = {"tag": "x", "region": "nowhere", "account": "1", "grain": "x", "period": "x"}
    assert list(parse(query, TODAY).errors) == ["period", "grain", "account", "region", "tag"]


def test_a_team_that_matches_no_team_tag_is_named_when_the_tags_are_known():
    assert parse({"team": "nobody"}, TODAY).errors == {}  # the caller did not say which teams exist
    view = parse({"team": "nobody"}, TODAY, teams=["ml", filters.UNTAGGED])
    assert view.team == "" and view.errors == {"team": "No endpoint has the team tag 'nobody'."}
    assert parse({"team": "ml"}, TODAY, teams=["ml"]).errors == {}
    assert parse({"team": filters.UNTAGGED}, TODAY, teams=[filters.UNTAGGED]).team == filters.UNTAGGED
    endpoints = [{"tags": {"team": "ml"}}, {"tags": {}}, {"tags": None}]
    assert filters.team_tags(endpoints) == {"ml", filters.UNTAGGED}
