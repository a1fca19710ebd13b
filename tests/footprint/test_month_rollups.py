"""Monthly rollups equal the sums of their day rows, stay equal through re-estimates and mid-month configuration
changes, and a period served from whole months plus edge days gives the figures the days alone give; the daily
rollup of estimate sources gives the provenance the estimates themselves give.

The fleet lives at fixed dates (January 20 to March 9, 2026: February whole, January and March partial), so
nothing here depends on when the test runs.
"""

import datetime as dt
from collections import defaultdict

import pytest
from django.core.management import call_command
from django.db.models import Count, F, Max
from django.utils import timezone

from collectors.models import AwsAccount, Endpoint, VariantConfig, VariantHour
from dashboard.footprint import estimates as footprint
from dashboard.footprint import queries, rollups
from dashboard.footprint.filters import Filters
from dashboard.footprint.measures import SUMMED, UTILIZATION
from dashboard.footprint.models import EstimateSourceDay, VariantDay, VariantHourEstimate, VariantMonth

START = dt.datetime(2026, 1, 20, tzinfo=dt.UTC)
END = dt.datetime(2026, 3, 10, tzinfo=dt.UTC)  # exclusive
CHANGE = dt.datetime(2026, 2, 14, 14, tzinfo=dt.UTC)


def hours_of(endpoint: Endpoint, instance_type: str, gpu: bool) -> list[VariantHour]:
    rows, hour, index = [], START, 0
    while hour < END:
        rows.append(
            VariantHour(
                endpoint=endpoint,
                variant_name="AllTraffic",
                hour=hour,
                instance_type=instance_type,
                instance_hours=1.0 + index % 3,
                cpu_util_pct=None if index % 7 == 0 else 10.0 + index % 50,
                gpu_util_pct=(5.0 + index % 90) if gpu and index % 5 else None,
                memory_util_pct=30.0 + index % 20,
                cpu_util_max_pct=60.0 + index % 40,
                invocations=0.0 if index % 11 == 0 else 100.0 + index,
                collected_at=START,
            )
        )
        hour, index = hour + dt.timedelta(hours=1), index + 1
    return rows


@pytest.fixture
def fleet(teams):
    account = AwsAccount.objects.create(
        team=teams[0], account_id="123456789012", name="prod", regions=["us-east-1"], role_arn="arn:aws:iam::1:role/W"
    )
    endpoints = []
    for name, instance_type, gpu in (("ranker", "ml.g5.xlarge", True), ("churn", "ml.m5.xlarge", False)):
        endpoint = Endpoint.objects.create(
            account=account, region="us-east-1", name=name, status="InService", first_seen=START, last_seen=END
        )
        VariantConfig.objects.create(
            endpoint=endpoint,
            variant_name="AllTraffic",
            valid_from=START,
            instance_type=instance_type,
            initial_instance_count=1,
            current_instance_count=1,
        )
        VariantHour.objects.bulk_create(hours_of(endpoint, instance_type, gpu))
        endpoints.append(endpoint)
    footprint.estimate_pending()
    return {"account": account, "endpoints": endpoints}


def month_sums_of_days() -> dict:
    """(endpoint, variant, month, type) -> the month's numbers added up by hand from its day rows."""
    months = defaultdict(lambda: defaultdict(float))
    for day in VariantDay.objects.all():
        cell = months[(day.endpoint_id, day.variant_name, day.day.replace(day=1), day.instance_type)]
        for name in ("hours", *SUMMED):
            cell[name] += getattr(day, name)
        for name in UTILIZATION:
            if getattr(day, name) is not None:
                cell[f"{name}_x"] += getattr(day, name) * day.instance_hours
                cell[f"{name}_w"] += day.instance_hours
        for name in ("cpu_util_max_pct", "gpu_util_max_pct"):
            if getattr(day, name) is not None:
                cell[name] = max(cell.get(name, 0.0), getattr(day, name))
    return months


def assert_months_match_days() -> None:
    expected = month_sums_of_days()
    rows = {(r.endpoint_id, r.variant_name, r.month, r.instance_type): r for r in VariantMonth.objects.all()}
    assert rows.keys() == expected.keys()
    for key, cell in expected.items():
        row = rows[key]
        assert (row.account_id, row.region) == (row.endpoint.account_id, row.endpoint.region)
        names = ["hours", *SUMMED, *(f"{n}_{p}" for n in UTILIZATION for p in "xw")]
        for name in names:
            assert getattr(row, name) == pytest.approx(cell[name], rel=1e-12, abs=1e-12), (key, name)
        for name in ("cpu_util_max_pct", "gpu_util_max_pct"):
            assert getattr(row, name) == cell.get(name), (key, name)


def test_estimation_fills_the_monthly_rollups_with_the_sums_of_their_days(fleet):
    assert VariantMonth.objects.count() == 2 * 3  # January, February and March of each endpoint
    assert_months_match_days()
    february = VariantMonth.objects.get(endpoint=fleet["endpoints"][0], month=dt.date(2026, 2, 1))
    assert february.hours == 28 * 24


def test_a_reestimated_hour_and_a_mid_month_type_change_update_their_month(fleet):
    ranker = fleet["endpoints"][0]
    hour = VariantHour.objects.get(endpoint=ranker, hour=dt.datetime(2026, 2, 3, 7, tzinfo=dt.UTC))
    hour.instance_hours, hour.invocations, hour.collected_at = 4.0, 0.0, timezone.now()
    hour.save()
    assert footprint.estimate_pending() == 1
    assert_months_match_days()
    VariantConfig.objects.filter(endpoint=ranker).update(valid_to=CHANGE)
    VariantConfig.objects.create(
        endpoint=ranker,
        variant_name="AllTraffic",
        valid_from=CHANGE,
        instance_type="ml.g5.2xlarge",
        initial_instance_count=2,
        current_instance_count=2,
    )
    VariantHour.objects.filter(endpoint=ranker, hour__gte=CHANGE).update(
        instance_type="ml.g5.2xlarge", instance_hours=2.0, collected_at=timezone.now()
    )
    footprint.estimate_pending()
    february = VariantMonth.objects.filter(endpoint=ranker, month=dt.date(2026, 2, 1))
    assert sorted(february.values_list("instance_type", "hours")) == [
        ("ml.g5.2xlarge", 14 * 24 + 10),
        ("ml.g5.xlarge", 13 * 24 + 14),
    ]
    assert_months_match_days()


def test_a_rebuild_gives_the_same_months_and_removes_those_without_hours(fleet):
    before = sorted(VariantMonth.objects.values_list("endpoint_id", "month", "instance_type", "energy_kwh", "hours"))
    VariantMonth.objects.all().delete()
    call_command("rollup")
    after = sorted(VariantMonth.objects.values_list("endpoint_id", "month", "instance_type", "energy_kwh", "hours"))
    assert len(after) == len(before) == 6
    for a, b in zip(after, before, strict=True):
        assert a[:3] == b[:3] and a[3] == pytest.approx(b[3]) and a[4] == b[4]
    churn = fleet["endpoints"][1]
    VariantHour.objects.filter(endpoint=churn).delete()
    rollups.rebuild()
    assert not VariantMonth.objects.filter(endpoint=churn).exists()


def view(start: dt.date, end: dt.date, grain: str = "month") -> Filters:
    return Filters("custom", start, end, grain)


def days_only(start: dt.date, end: dt.date) -> dict:
    """Per-endpoint sums and weighted utilization straight from the day rows: the figures before months."""
    totals = defaultdict(lambda: defaultdict(float))
    for day in VariantDay.objects.filter(day__gte=start, day__lte=end):
        cell = totals[day.endpoint_id]
        for name in SUMMED:
            cell[name] += getattr(day, name)
        for name in UTILIZATION:
            if getattr(day, name) is not None:
                cell[f"{name}_x"] += getattr(day, name) * day.instance_hours
                cell[f"{name}_w"] += day.instance_hours
    return totals


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (dt.date(2026, 1, 25), dt.date(2026, 3, 5)),  # edge days on both sides of a whole February
        (dt.date(2026, 2, 1), dt.date(2026, 2, 28)),  # exactly one month
        (dt.date(2026, 1, 1), dt.date(2026, 3, 31)),  # whole months only
        (dt.date(2026, 2, 3), dt.date(2026, 2, 20)),  # no whole month: days only
    ],
)
def test_a_period_from_months_and_edge_days_gives_the_totals_of_its_days(fleet, start, end):
    accounts = queries.team_accounts(fleet["account"].team)
    expected = days_only(start, end)
    totals = queries.endpoint_totals(accounts, view(start, end), None).groupby("endpoint_id")[list(SUMMED)].sum()
    utilization = queries.utilization_totals(accounts, view(start, end), None)
    assert set(totals.index) == set(expected) == set(utilization)
    for endpoint_id, cell in expected.items():
        for name in SUMMED:
            assert totals.loc[endpoint_id, name] == pytest.approx(cell[name], rel=1e-12), name
        for name in UTILIZATION:
            if cell[f"{name}_w"]:
                mean = cell[f"{name}_x"] / cell[f"{name}_w"]
                assert utilization[endpoint_id][name] == pytest.approx(mean, rel=1e-12), name
            else:
                assert utilization[endpoint_id][name] is None, name


def test_the_month_grain_series_and_the_endpoint_series_add_up_to_their_days(fleet):
    accounts = queries.team_accounts(fleet["account"].team)
    start, end = dt.date(2026, 1, 25), dt.date(2026, 3, 5)
    series = queries.daily_series(accounts, view(start, end), None).groupby("time")["energy_kwh"].sum()
    by_month = defaultdict(float)
    for day, energy in VariantDay.objects.filter(day__gte=start, day__lte=end).values_list("day", F("energy_kwh")):
        by_month[day.replace(day=1)] += energy
    assert {time.date(): value for time, value in series.items()} == pytest.approx(by_month, rel=1e-12)
    ranker = fleet["endpoints"][0]
    months = queries.variant_series(ranker, view(start, end))
    days = queries.variant_series(ranker, view(start, end, "day"))
    assert len(months) == 3 and len(days) == (end - start).days + 1
    for name in ("hours", *SUMMED, "cpu_util_pct_x", "cpu_util_pct_w", "gpu_util_pct_w"):
        assert months[name].sum() == pytest.approx(days[name].sum(), rel=1e-12), name


@pytest.mark.parametrize("grain", ["day", "week", "month"])
@pytest.mark.parametrize("key", ["endpoint_id", "region", "instance_type"])
def test_the_apis_grouped_series_adds_up_to_the_day_rows(fleet, grain, key):
    """What /api/v1/emissions/ reads (months from VariantMonth where whole) against the day rows added by hand."""
    accounts = queries.team_accounts(fleet["account"].team)
    start, end = dt.date(2026, 1, 25), dt.date(2026, 3, 5)
    frame = queries.grouped_series(accounts, start, end, grain, None, key)
    got = frame.groupby(["bucket", key])[["energy_kwh", "instance_hours", "invocations"]].sum()
    expected = defaultdict(lambda: defaultdict(float))
    for day in VariantDay.objects.filter(day__gte=start, day__lte=end):
        bucket = {
            "day": day.day,
            "week": day.day - dt.timedelta(days=day.day.weekday()),
            "month": day.day.replace(day=1),
        }
        cell = expected[(bucket[grain], getattr(day, key))]
        for name in ("energy_kwh", "instance_hours", "invocations"):
            cell[name] += getattr(day, name)
    assert set(got.index) == set(expected)
    for index, cell in expected.items():
        for name, value in cell.items():
            assert got.loc[index, name] == pytest.approx(value, rel=1e-12), (index, name)


def provenance_from_estimates(endpoint: Endpoint, start: dt.date, end: dt.date) -> list[tuple]:
    """The endpoint page's provenance as it was computed before the daily rollup of sources: every estimate."""
    estimates = VariantHourEstimate.objects.filter(
        variant_hour__endpoint=endpoint,
        variant_hour__hour__gte=dt.datetime.combine(start, dt.time(), dt.UTC),
        variant_hour__hour__lt=dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), dt.UTC),
    )
    rows = estimates.values("methodology", "methodology_version", "factors", "fallbacks").annotate(
        hours=Count("id"), last=Max("computed_at")
    )
    return sorted(tuple(row.values()) for row in rows.order_by())


def test_the_provenance_rollup_equals_the_estimates_through_a_reestimate_and_a_rebuild(fleet):
    ranker, churn = fleet["endpoints"]
    VariantHourEstimate.objects.filter(
        variant_hour__endpoint=ranker, variant_hour__hour__gte=dt.datetime(2026, 2, 10, tzinfo=dt.UTC)
    ).update(methodology_version="0.9.0")  # outdated estimates: re-estimated, as after a methodology bump
    VariantHour.objects.filter(endpoint=ranker, hour__gte=dt.datetime(2026, 2, 20, tzinfo=dt.UTC)).update(
        collected_at=timezone.now()
    )
    footprint.estimate_pending()
    start, end = dt.date(2026, 1, 25), dt.date(2026, 3, 5)
    for endpoint in (ranker, churn):
        shown = queries.provenance(endpoint, view(start, end))
        assert sorted(tuple(row.values()) for row in shown) == provenance_from_estimates(endpoint, start, end)
    assert "0.9.0" not in {row["methodology_version"] for row in queries.provenance(ranker, view(start, end))}
    VariantHour.objects.filter(endpoint=churn).delete()
    rollups.rebuild()
    assert queries.provenance(churn, view(start, end)) == []
    assert EstimateSourceDay.objects.filter(endpoint=ranker).count() > 0
