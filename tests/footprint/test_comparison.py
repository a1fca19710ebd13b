"""The 30-day two-version comparison of the Methodology page, on real PostgreSQL: the same numbers as the estimator
run on the team's own rows with each version, no other team's hours, nothing written, and cached."""

import datetime as dt

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

import estimator
from collectors.models import VariantHour
from dashboard.footprint import comparison
from dashboard.footprint.estimates import ROW_FIELDS, pending, usage_frame
from dashboard.footprint.models import EstimateFailure, VariantHourEstimate
from estimator.methods import PREVIOUS_DEFAULT
from estimator.methods.ccf import CCF
from tests.web import factories

PAIR = {"previous": PREVIOUS_DEFAULT, "current": CCF}  # two different methodologies: numbers differ, whatever ships


@pytest.fixture(autouse=True)
def empty_cache(db):
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def fleets(teams):
    return factories.two_team_fleet(teams)


def today() -> dt.date:
    return timezone.now().date()


def expected(team, methodology) -> tuple:
    start, stop = comparison.window(today())
    rows = list(
        VariantHour.objects.filter(endpoint__account__team=team, hour__gte=start, hour__lt=stop).values(*ROW_FIELDS)
    )
    return len(rows), estimator.estimate(usage_frame(rows), methodology)


def test_the_numbers_are_the_estimators_on_the_teams_rows_with_each_version(fleets):
    result = comparison.compare_versions([fleets[0]], today(), **PAIR)
    hours, old = expected(fleets[0], PAIR["previous"])
    _, new = expected(fleets[0], PAIR["current"])
    assert result.hours == hours > 72 and hours < 24 * 30 + 72  # the window's hours only, not the ranker's 40 days
    assert (result.previous, result.current) == ("default 1.0.0", f"ccf {CCF.version}")
    for column, _, both in comparison.MEASURES:
        line = result.line(column)
        assert line.current == pytest.approx(new[column].sum())
        if both:
            assert line.previous == pytest.approx(old[column].sum())
            if old[column].sum():
                assert line.change_pct == pytest.approx((new[column].sum() / old[column].sum() - 1) * 100)
            else:
                assert line.change_pct is None
        else:
            assert line.previous is None and line.change_pct is None
    assert result.line("energy_kwh").current != pytest.approx(result.line("energy_kwh").previous)
    assert result.line("accelerator_kwh").change_pct is None  # no Neuron device: previous is 0


def test_another_teams_endpoints_are_left_out(fleets):
    mine = comparison.compare_versions([fleets[0]], today(), **PAIR)
    theirs = comparison.compare_versions([fleets[1]], today(), **PAIR)
    both = comparison.compare_versions(list(fleets), today(), **PAIR)
    assert theirs.hours == 72 and both.hours == mine.hours + theirs.hours
    _, their_rows = expected(fleets[1], PAIR["current"])
    assert theirs.line("energy_kwh").current == pytest.approx(their_rows["energy_kwh"].sum())
    assert both.line("energy_kwh").current == pytest.approx(
        mine.line("energy_kwh").current + theirs.line("energy_kwh").current
    )


def test_it_writes_nothing_but_its_cache_entry(fleets):
    factories.estimate()
    stored = list(VariantHourEstimate.objects.order_by("pk").values())
    with CaptureQueriesContext(connection) as queries:
        comparison.compare_versions([fleets[0]], today(), **PAIR)
    writes = [
        q["sql"]
        for q in queries
        if q["sql"].lstrip().split()[0].upper() in ("INSERT", "UPDATE", "DELETE") and "wattson_cache" not in q["sql"]
    ]
    assert writes == []
    assert list(VariantHourEstimate.objects.order_by("pk").values()) == stored
    assert not EstimateFailure.objects.exists()


def test_the_result_is_cached_per_teams_day_and_versions(fleets, monkeypatch):
    calls = []
    real = estimator.estimate
    monkeypatch.setattr(estimator, "estimate", lambda frame, m: calls.append(m) or real(frame, m))
    first = comparison.compare_versions([fleets[0]], today(), **PAIR)
    assert len(calls) == 2
    with CaptureQueriesContext(connection) as queries:
        again = comparison.compare_versions([fleets[0]], today(), **PAIR)
    assert again == first and len(calls) == 2
    assert not any("collectors_varianthour" in q["sql"] for q in queries)
    comparison.compare_versions([fleets[1]], today(), **PAIR)  # another team
    comparison.compare_versions([fleets[0]], today() - dt.timedelta(days=1), **PAIR)  # another day
    comparison.compare_versions([fleets[0]], today(), previous=CCF, current=PREVIOUS_DEFAULT)  # other versions
    assert len(calls) == 8


def test_the_same_version_on_both_sides_is_no_comparison(fleets):
    one = {"previous": PREVIOUS_DEFAULT, "current": PREVIOUS_DEFAULT}
    assert comparison.compare_versions([fleets[0]], today(), **one) is None
    previous, current = comparison.compared_pair()
    result = comparison.compare_versions([fleets[0]], today())
    if comparison.same(previous, current):
        assert result is None
    else:
        assert (result.previous, result.current) == (comparison.label(previous), comparison.label(current))


def test_a_row_either_version_refuses_is_left_out_of_both(fleets, monkeypatch):
    real = estimator.estimate
    hours, _ = expected(fleets[0], PAIR["current"])

    def refusing(frame, methodology):
        # one row refused by one version only, as its validation would
        if len(frame) == hours and methodology is PAIR["current"]:
            raise estimator.InputError("cpu_util_pct out of range", row=5)
        return real(frame, methodology)

    monkeypatch.setattr(estimator, "estimate", refusing)
    result = comparison.compare_versions([fleets[0]], today(), **PAIR)
    assert result.hours == hours - 1 and result.refused == 1


def test_no_usage_compares_zero_hours(teams):
    result = comparison.compare_versions([teams[0]], today(), **PAIR)
    assert result.hours == 0 and result.line("energy_kwh").change_pct is None


def test_reestimation_progress_counts_the_teams_hours_estimated_by_the_current_version(fleets):
    factories.estimate()
    mine = VariantHourEstimate.objects.filter(variant_hour__endpoint__account__team=fleets[0])
    mine.filter(pk__in=list(mine.values_list("pk", flat=True)[:100])).update(methodology_version="0.9.0")
    version = estimator.METHODOLOGIES["default"].version
    refused = mine.filter(methodology_version=version).first().variant_hour
    refused.estimate.delete()  # as the job does for an hour it refuses
    EstimateFailure.objects.create(
        variant_hour=refused, methodology_version=version, error="x", failed_at=timezone.now()
    )
    progress = comparison.reestimation_progress([fleets[0]])
    assert progress.hours == 24 * 40 + 72 and progress.estimated == progress.hours - 101
    assert progress.refused == 1 and progress.pending == 100
    assert progress.version == version
    assert progress.pct == pytest.approx(progress.estimated / progress.hours * 100)
    VariantHour.objects.filter(pk=refused.pk).update(collected_at=timezone.now() + dt.timedelta(minutes=1))
    again = comparison.reestimation_progress([fleets[0]])  # re-collected since: retried, so pending, as pending()
    mine_pending = pending().filter(endpoint__account__team=fleets[0]).count()
    assert again.refused == 0 and again.pending == 101 == mine_pending
