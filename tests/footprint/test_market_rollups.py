"""Market-based CO2e (``co2e_market_kg``) is a sum only where every hour summed has it: hours estimated before it
existed lack it (NULL until re-estimated), so a day, a month, a span, a series bucket or a breakdown that holds
such an hour is unknown (None / NaN), never the low sum of the hours that have it and never 0. Location-based
CO2e and every other sum stay as they are.

The fleet is tests/footprint/test_month_rollups.py's (January 20 to March 9, 2026; February whole).
"""

import datetime as dt

import pandas as pd
import pytest
from django.db.models import F, Sum

from collectors.models import VariantHour
from dashboard.footprint import queries, rollups
from dashboard.footprint.models import VariantDay, VariantHourEstimate, VariantMonth
from tests.footprint.test_month_rollups import fleet as estimated_fleet  # noqa: F401 - fixture
from tests.footprint.test_month_rollups import view

FEB_10 = dt.date(2026, 2, 10)
JAN_25 = dt.date(2026, 1, 25)


@pytest.fixture
def fleet(estimated_fleet):  # noqa: F811 - the estimated fleet, with market figures that differ from hour to hour
    """The estimator's market-based factor is 0 where AWS matches all of a region's energy (us-east-1): every sum
    would be 0 whatever was summed. Half the location-based figure makes every hour count."""
    VariantHourEstimate.objects.update(co2e_market_kg=F("co2e_kg") * 0.5)
    rollups.rebuild()
    return estimated_fleet


def lose_market_figure(endpoint, day: dt.date, hours: int = 1) -> None:
    """As if ``hours`` hours of the endpoint's day were estimated before market-based CO2e existed."""
    start = dt.datetime.combine(day, dt.time(9), dt.UTC)
    ids = VariantHour.objects.filter(endpoint=endpoint, hour__gte=start).order_by("hour").values("id")[:hours]
    assert VariantHourEstimate.objects.filter(variant_hour_id__in=ids).update(co2e_market_kg=None) == hours
    rollups.refresh([(endpoint.pk, day)])


def market_of_hours(endpoint, start: dt.date, end: dt.date) -> float:
    hours = VariantHourEstimate.objects.filter(
        variant_hour__endpoint=endpoint,
        variant_hour__hour__gte=dt.datetime.combine(start, dt.time(), dt.UTC),
        variant_hour__hour__lt=dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), dt.UTC),
    )
    assert not hours.filter(co2e_market_kg__isnull=True).exists()
    return hours.aggregate(total=Sum("co2e_market_kg"))["total"]


def test_every_estimated_hour_and_rollup_carries_the_market_figure(estimated_fleet):
    ranker, _ = estimated_fleet["endpoints"]
    assert not VariantHourEstimate.objects.filter(co2e_market_kg__isnull=True).exists()
    assert not VariantDay.objects.filter(co2e_market_kg__isnull=True).exists()
    assert not VariantMonth.objects.filter(co2e_market_kg__isnull=True).exists()
    day = VariantDay.objects.get(endpoint=ranker, day=FEB_10)
    assert day.co2e_market_kg == pytest.approx(market_of_hours(ranker, FEB_10, FEB_10), rel=1e-12, abs=1e-12)


def test_a_day_with_one_hour_lacking_the_market_figure_has_none_and_so_has_its_month(fleet):
    ranker, churn = fleet["endpoints"]
    before = VariantDay.objects.get(endpoint=ranker, day=FEB_10)
    lose_market_figure(ranker, FEB_10)
    day = VariantDay.objects.get(endpoint=ranker, day=FEB_10)
    assert day.co2e_market_kg is None  # not the day's other 23 hours
    assert day.hours == before.hours
    assert (day.co2e_kg, day.energy_kwh) == pytest.approx((before.co2e_kg, before.energy_kwh), rel=1e-12)
    assert VariantMonth.objects.get(endpoint=ranker, month=dt.date(2026, 2, 1)).co2e_market_kg is None
    # the neighbouring days and months, and the other endpoint's same day, keep theirs
    next_day = VariantDay.objects.get(endpoint=ranker, day=FEB_10 + dt.timedelta(days=1))
    assert next_day.co2e_market_kg == pytest.approx(market_of_hours(ranker, next_day.day, next_day.day))
    assert VariantMonth.objects.get(endpoint=ranker, month=dt.date(2026, 3, 1)).co2e_market_kg is not None
    assert VariantDay.objects.get(endpoint=churn, day=FEB_10).co2e_market_kg is not None
    assert VariantMonth.objects.get(endpoint=churn, month=dt.date(2026, 2, 1)).co2e_market_kg is not None
    # a rebuild from the hours gives the same rows
    rollups.rebuild()
    assert VariantDay.objects.get(endpoint=ranker, day=FEB_10).co2e_market_kg is None
    assert VariantMonth.objects.get(endpoint=ranker, month=dt.date(2026, 2, 1)).co2e_market_kg is None


@pytest.mark.parametrize(
    "lost, start, end",
    [
        (FEB_10, dt.date(2026, 1, 25), dt.date(2026, 3, 5)),  # in a whole month (VariantMonth) of the span
        (JAN_25, dt.date(2026, 1, 25), dt.date(2026, 3, 5)),  # in an edge day, beside a complete month
        (FEB_10, dt.date(2026, 2, 3), dt.date(2026, 2, 20)),  # days only
    ],
    ids=["month", "edge-day", "days"],
)
def test_a_span_with_one_day_lacking_it_totals_none_never_a_low_figure(fleet, lost, start, end):
    ranker, churn = fleet["endpoints"]
    accounts = queries.team_accounts(fleet["account"].team)
    lose_market_figure(ranker, lost)
    totals = queries.endpoint_totals(accounts, view(start, end), None).set_index("endpoint_id")
    assert pd.isna(totals.loc[ranker.pk, "co2e_market_kg"])
    assert totals.loc[churn.pk, "co2e_market_kg"] == pytest.approx(market_of_hours(churn, start, end), rel=1e-12)
    assert totals.loc[ranker.pk, "co2e_kg"] > 0  # location-based is whole
    summary = queries.summary(totals.reset_index())
    assert summary["co2e_market_kg"] is None and summary["co2e_kg"] > 0
    by_endpoint = queries.breakdown(
        queries.label_columns(totals.reset_index(), queries.team_endpoints(ranker.account.team)), "endpoint"
    ).set_index("endpoint_id")
    assert pd.isna(by_endpoint.loc[ranker.pk, "co2e_market_kg"])
    assert by_endpoint.loc[churn.pk, "co2e_market_kg"] == pytest.approx(market_of_hours(churn, start, end))
    # a span that leaves the day out is a number: the sum of its hours
    after = lost + dt.timedelta(days=1)
    later = queries.endpoint_totals(accounts, view(after, end), None).set_index("endpoint_id")
    assert later.loc[ranker.pk, "co2e_market_kg"] == pytest.approx(market_of_hours(ranker, after, end), rel=1e-12)


@pytest.mark.parametrize("grain", ["day", "week", "month"])
def test_series_buckets_holding_the_day_are_unknown_and_the_others_are_numbers(fleet, grain):
    ranker, _ = fleet["endpoints"]
    accounts = queries.team_accounts(fleet["account"].team)
    lose_market_figure(ranker, FEB_10)
    start, end = dt.date(2026, 1, 25), dt.date(2026, 3, 5)
    bucket = {"day": FEB_10, "week": FEB_10 - dt.timedelta(days=FEB_10.weekday()), "month": FEB_10.replace(day=1)}
    trend = queries.trend(queries.daily_series(accounts, view(start, end, grain), None), view(start, end, grain))
    trend = trend.set_index(trend["time"].dt.date)
    assert pd.isna(trend.loc[bucket[grain], "co2e_market_kg"])
    others = trend.drop(index=bucket[grain])
    assert len(others) and others["co2e_market_kg"].notna().all() and (others["co2e_market_kg"] > 0).all()
    # the API's grouped series: the same rule, per group
    frame = queries.grouped_series(accounts, start, end, grain, None, "endpoint_id")
    cells = frame.set_index(["bucket", "endpoint_id"])["co2e_market_kg"]
    assert pd.isna(cells.loc[(bucket[grain], ranker.pk)])
    assert cells.drop(index=(bucket[grain], ranker.pk)).notna().all()


def test_hour_grain_and_the_endpoint_page_series_know_which_hour_lacks_it(fleet):
    ranker, _ = fleet["endpoints"]
    accounts = queries.team_accounts(fleet["account"].team)
    lose_market_figure(ranker, FEB_10)
    hourly = view(FEB_10, FEB_10, "hour")
    series = queries.hourly_series(accounts, hourly, [ranker.pk]).set_index("time")["co2e_market_kg"]
    assert series.isna().sum() == 1 and pd.isna(series.loc[pd.Timestamp(2026, 2, 10, 9)])
    variant = queries.variant_series(ranker, hourly)
    assert variant["co2e_market_kg"].isna().sum() == 1
    trend = queries.trend(queries.with_cost(variant.assign(region=ranker.region)), hourly)
    assert trend["co2e_market_kg"].isna().sum() == 1 and trend["co2e_kg"].notna().all()
    daily = queries.trend(
        queries.variant_series(ranker, view(FEB_10, FEB_10, "day"))
        .assign(region=ranker.region)
        .pipe(queries.with_cost),
        view(FEB_10, FEB_10, "day"),
    )
    assert daily["co2e_market_kg"].isna().all()


def test_an_endpoints_30_day_summary_is_none_while_a_day_lacks_it(fleet):
    ranker, churn = fleet["endpoints"]
    lose_market_figure(ranker, FEB_10)
    at = dt.datetime(2026, 3, 10, tzinfo=dt.UTC)  # the last 30 x 24 hours: 8 February to 9 March, whole days
    totals = queries.recent_totals([ranker.pk, churn.pk], at, ("co2e_kg", "co2e_market_kg"))
    assert totals[ranker.pk]["co2e_market_kg"] is None and totals[ranker.pk]["co2e_kg"] > 0
    expected = market_of_hours(churn, dt.date(2026, 2, 8), dt.date(2026, 3, 9))
    assert totals[churn.pk]["co2e_market_kg"] == pytest.approx(expected, rel=1e-12)
