"""Named periods are rolling windows of whole hours ("1d" is the last 24 hours, not the UTC day so far), read from
the monthly and daily rollups for what they hold whole and from the hours for their partial first and last days;
every total equals the hours inside the window added up by hand. Buckets the window or the collection cuts carry
their ``coverage`` (the share of the bucket in view and collected), so charts can mark them partial.

The fleet lives at fixed dates (January 20 to March 9, 2026), so nothing here depends on when the test runs.
"""

import datetime as dt

import pandas as pd
import pytest
from django.http import QueryDict

from collectors.models import CollectionState, VariantHour
from collectors.models.health import Source
from dashboard.footprint import queries
from dashboard.footprint.filters import parse, rolling_window
from dashboard.footprint.measures import SUMMED, UTILIZATION
from dashboard.footprint.models import VariantDay
from tests.footprint.test_month_rollups import fleet  # noqa: F401 - the fixture, shared

NOW = dt.datetime(2026, 3, 5, 13, 27, 40, tzinfo=dt.UTC)
TODAY = NOW.date()
HOUR = dt.timedelta(hours=1)


def by_hand(start: dt.datetime, end: dt.datetime) -> dict:
    """The SUMMED numbers of the estimated hours in [start, end), added up row by row."""
    totals = dict.fromkeys(SUMMED, 0.0)
    rows = VariantHour.objects.filter(hour__gte=start, hour__lt=end).select_related("estimate")
    for row in rows:
        idle = not row.invocations
        estimate = row.estimate
        totals["instance_hours"] += row.instance_hours
        totals["idle_instance_hours"] += row.instance_hours if idle else 0.0
        totals["invocations"] += row.invocations or 0.0
        totals["idle_energy_kwh"] += estimate.energy_kwh if idle else 0.0
        for name in ("energy_kwh", "co2e_kg", "co2e_market_kg", "co2e_kg_low", "co2e_kg_high", "embodied_co2e_kg"):
            totals[name] += getattr(estimate, name)
    totals["hours"] = rows.count()
    return totals


def test_a_named_period_is_the_last_whole_hours_before_now():
    view = parse({"period": "1d"}, TODAY, now=NOW)
    assert view.window == (dt.datetime(2026, 3, 4, 13, tzinfo=dt.UTC), dt.datetime(2026, 3, 5, 13, tzinfo=dt.UTC))
    assert (view.start, view.end) == (dt.date(2026, 3, 4), dt.date(2026, 3, 5))  # the days it touches
    assert (view.start_time, view.end_time) == view.window
    assert view.label == "Last 24 hours (04 Mar 13:00 – 05 Mar 13:00 UTC)"
    assert view.grain == "hour"  # two partial days by day grain; by hour unless asked
    assert parse({"period": "1d", "grain": "day"}, TODAY, now=NOW).grain == "day"
    week = parse({"period": "7d"}, TODAY, now=NOW)
    assert week.end_time - week.start_time == dt.timedelta(days=7)
    assert parse(QueryDict(week.query()), TODAY, now=NOW) == week  # a link reproduces the view at the same hour


def test_a_past_day_or_a_custom_range_is_calendar_days():
    # Asked for a day already over, a named period ends at the midnight after it: its calendar days.
    past = parse({"period": "7d"}, dt.date(2026, 2, 20), now=NOW)
    assert past.window == (dt.datetime(2026, 2, 14, tzinfo=dt.UTC), dt.datetime(2026, 2, 21, tzinfo=dt.UTC))
    assert (past.start, past.end) == (dt.date(2026, 2, 14), dt.date(2026, 2, 20))
    custom = parse({"from": "2026-02-01", "to": "2026-02-10"}, TODAY, now=NOW)
    assert custom.window is None
    assert custom.start_time == dt.datetime(2026, 2, 1, tzinfo=dt.UTC)
    assert custom.label == "01 Feb 2026 – 10 Feb 2026 (UTC days)"
    # Without ``now`` (the API's explicit days, Prometheus) a named period stays the calendar days up to today.
    assert parse({"period": "7d"}, TODAY).window is None


@pytest.mark.parametrize(
    ("period", "grain"), [("1d", "day"), ("7d", "day"), ("30d", "week"), ("90d", "month"), ("90d", "day")]
)
def test_rolling_totals_equal_the_hours_in_the_window(fleet, period, grain):  # noqa: F811 - the fixture
    view = parse({"period": period, "grain": grain}, TODAY, now=NOW)
    expected = by_hand(*view.window)
    accounts = [{"pk": fleet["account"].pk}]
    totals = queries.endpoint_totals(accounts, view, None)
    series = queries.daily_series(accounts, view, None)
    for name in SUMMED:
        assert float(totals[name].sum()) == pytest.approx(expected[name], rel=1e-9), name
        assert float(series[name].sum()) == pytest.approx(expected[name], rel=1e-9), name
    per_variant = queries.variant_series(fleet["endpoints"][0], view)
    ranker = by_hand_one(fleet["endpoints"][0], *view.window)
    assert float(per_variant["hours"].sum()) == ranker["hours"]
    assert float(per_variant["energy_kwh"].sum()) == pytest.approx(ranker["energy_kwh"], rel=1e-9)


def by_hand_one(endpoint, start, end) -> dict:
    rows = VariantHour.objects.filter(endpoint=endpoint, hour__gte=start, hour__lt=end).select_related("estimate")
    return {"hours": rows.count(), "energy_kwh": sum(row.estimate.energy_kwh for row in rows)}


def test_rolling_utilization_is_weighted_over_the_hours_in_the_window(fleet):  # noqa: F811 - the fixture
    """The partial days' hours weigh in one by one; a whole day as its daily rollup row does (its mean, weighted
    by the day's instance-hours)."""
    view = parse({"period": "7d"}, TODAY, now=NOW)
    ranker = fleet["endpoints"][0]
    first, last, edges = queries.whole_days(view.start, view.end, view.window)
    hours = [
        row
        for begin, end in edges
        for row in VariantHour.objects.filter(endpoint=ranker, hour__gte=begin, hour__lt=end)
    ]
    days = list(VariantDay.objects.filter(endpoint=ranker, day__gte=first, day__lte=last))
    assert len(hours) == 24 and len(days) == 6
    means = queries.utilization_totals([{"pk": fleet["account"].pk}], view, [ranker.pk])[ranker.pk]
    for name in UTILIZATION:
        parts = [row for row in (*hours, *days) if getattr(row, name) is not None]
        expected = sum(getattr(r, name) * r.instance_hours for r in parts) / sum(r.instance_hours for r in parts)
        assert means[name] == pytest.approx(expected, rel=1e-9), name


def test_whole_days_split_a_window_into_hours_days_and_hours():
    start, end = rolling_window("7d", TODAY, NOW)
    first, last, hours = queries.whole_days(start.date(), end.date(), (start, end))
    assert (first, last) == (dt.date(2026, 2, 27), dt.date(2026, 3, 4))
    assert hours == (
        (dt.datetime(2026, 2, 26, 13, tzinfo=dt.UTC), dt.datetime(2026, 2, 27, tzinfo=dt.UTC)),
        (dt.datetime(2026, 3, 5, tzinfo=dt.UTC), dt.datetime(2026, 3, 5, 13, tzinfo=dt.UTC)),
    )
    # At 00:xx the window is whole days; within one day it is one hour range.
    midnight = dt.datetime(2026, 3, 5, 0, 10, tzinfo=dt.UTC)
    assert queries.whole_days(TODAY, TODAY, rolling_window("7d", TODAY, midnight))[2] == ()
    inside = (dt.datetime(2026, 3, 5, 3, tzinfo=dt.UTC), dt.datetime(2026, 3, 5, 9, tzinfo=dt.UTC))
    assert queries.whole_days(TODAY, TODAY, inside)[2] == (inside,)


def test_buckets_cut_by_the_window_or_the_collection_are_partial(fleet):  # noqa: F811 - the fixture
    view = parse({"period": "7d", "grain": "day"}, TODAY, now=NOW)
    accounts = [{"pk": fleet["account"].pk}]
    trend = queries.trend(queries.daily_series(accounts, view, None), view)
    coverage = dict(zip(trend["time"].dt.date, trend["coverage"], strict=True))
    assert coverage[dt.date(2026, 2, 26)] == pytest.approx(11 / 24)  # from 13:00
    assert coverage[dt.date(2026, 3, 5)] == pytest.approx(13 / 24)  # until 13:00
    assert all(coverage[day] == 1.0 for day in coverage if dt.date(2026, 2, 27) <= day <= dt.date(2026, 3, 4))
    # The utilization collector's watermark says data is complete until 09:00 today: later hours are partial.
    CollectionState.objects.create(
        account=fleet["account"],
        region="us-east-1",
        source=Source.UTILIZATION,
        watermark=dt.datetime(2026, 3, 5, 9, tzinfo=dt.UTC),
    )
    collected = queries.collected_span(accounts)
    assert collected == (dt.datetime(2026, 1, 20, tzinfo=dt.UTC), dt.datetime(2026, 3, 5, 9, tzinfo=dt.UTC))
    hourly = parse({"period": "1d", "grain": "hour"}, TODAY, now=NOW)
    trend = queries.trend(queries.hourly_series(accounts, hourly, None), hourly, collected)
    late = trend[trend["time"] >= pd.Timestamp("2026-03-05 09:00")]
    assert len(late) == 4 and (late["coverage"] == 0.0).all()
    assert (trend[trend["time"] < pd.Timestamp("2026-03-05 09:00")]["coverage"] == 1.0).all()
    # A week the period starts inside is partial (30d from 3 Feb 13:00: 5 days 11 hours of that week in view).
    weekly = parse({"period": "30d", "grain": "week"}, TODAY, now=NOW)
    weeks = queries.trend(queries.daily_series(accounts, weekly, None), weekly, collected)
    first = weeks.iloc[0]
    assert first["time"] == pd.Timestamp("2026-02-02")
    assert first["coverage"] == pytest.approx((5 * 24 + 11) / (7 * 24))


def test_an_endpoints_30_day_summary_is_the_last_30_days_of_whole_hours(fleet):  # noqa: F811 - the fixture
    ranker, churn = fleet["endpoints"]
    totals = queries.recent_totals([ranker.pk, churn.pk], NOW, ("energy_kwh", "instance_hours"))
    start, end = rolling_window("30d", TODAY, NOW)
    for endpoint in (ranker, churn):
        rows = VariantHour.objects.filter(endpoint=endpoint, hour__gte=start, hour__lt=end).select_related("estimate")
        assert totals[endpoint.pk]["energy_kwh"] == pytest.approx(sum(r.estimate.energy_kwh for r in rows), rel=1e-9)
        assert totals[endpoint.pk]["instance_hours"] == pytest.approx(sum(r.instance_hours for r in rows), rel=1e-9)


def test_collection_is_judged_by_the_regions_in_view_and_a_collector_never_completed_counts_for_nothing(fleet):  # noqa: F811
    accounts = [{"pk": fleet["account"].pk}]
    state = {"account": fleet["account"], "source": Source.UTILIZATION}
    CollectionState.objects.create(region="us-east-1", watermark=dt.datetime(2026, 3, 5, 9, tzinfo=dt.UTC), **state)
    # A region none of the endpoints is in (behind, or never collected) says nothing about them.
    CollectionState.objects.create(region="eu-west-1", watermark=None, **state)
    begin = dt.datetime(2026, 1, 20, tzinfo=dt.UTC)
    assert queries.collected_span(accounts) == (begin, dt.datetime(2026, 3, 5, 9, tzinfo=dt.UTC))
    # Their own region's collector never completed: nothing of theirs is complete.
    CollectionState.objects.filter(region="us-east-1").update(watermark=None)
    assert queries.collected_span(accounts) == (begin, begin)
    # Data loaded without any collector: complete up to the hour after the last one with data.
    CollectionState.objects.all().delete()
    assert queries.collected_span(accounts) == (begin, dt.datetime(2026, 3, 10, tzinfo=dt.UTC))
