"""Daily rollups equal the sums of their hours, and stay equal as hours are re-collected and re-estimated."""

import datetime as dt
from collections import defaultdict

import pytest
from django.core.management import call_command
from django.utils import timezone

from collectors import runner
from collectors.models import VariantHour
from dashboard.footprint import estimates as footprint
from dashboard.footprint import rollups
from dashboard.footprint.models import VariantDay
from tests.collectors.conftest import aws_env, prod, register  # noqa: F401 - fixtures


@pytest.fixture
def estimated(prod):
    runner.run(prod, "us-east-1", "inventory")
    runner.run(prod, "us-east-1", "utilization")
    footprint.estimate_pending()
    return VariantHour.objects.filter(endpoint__account=prod)


def sums_from_hours() -> dict:
    """(endpoint, variant, day, type) -> hand-summed totals, straight from the hourly rows."""
    totals = defaultdict(lambda: defaultdict(float))
    for hour in VariantHour.objects.select_related("estimate"):
        cell = totals[(hour.endpoint_id, hour.variant_name, hour.hour.astimezone(dt.UTC).date(), hour.instance_type)]
        idle = not hour.invocations
        cell["hours"] += 1
        cell["instance_hours"] += hour.instance_hours
        cell["idle_instance_hours"] += hour.instance_hours if idle else 0
        cell["invocations"] += hour.invocations or 0
        cell["energy_kwh"] += hour.estimate.energy_kwh
        cell["idle_energy_kwh"] += hour.estimate.energy_kwh if idle else 0
        cell["co2e_kg_high"] += hour.estimate.co2e_kg_high
        cell["embodied_co2e_kg"] += hour.estimate.embodied_co2e_kg
        if hour.cpu_util_pct is not None:
            cell["cpu_x_ih"] += hour.cpu_util_pct * hour.instance_hours
            cell["cpu_ih"] += hour.instance_hours
    return totals


def assert_rollups_match_hours():
    expected = sums_from_hours()
    rows = {(r.endpoint_id, r.variant_name, r.day, r.instance_type): r for r in VariantDay.objects.all()}
    assert rows.keys() == expected.keys()
    for key, cell in expected.items():
        row = rows[key]
        for name in (
            "hours",
            "instance_hours",
            "idle_instance_hours",
            "invocations",
            "energy_kwh",
            "idle_energy_kwh",
            "co2e_kg_high",
            "embodied_co2e_kg",
        ):
            assert getattr(row, name) == pytest.approx(cell[name], rel=1e-9, abs=1e-12), (key, name)
        if cell["cpu_ih"]:
            assert row.cpu_util_pct == pytest.approx(cell["cpu_x_ih"] / cell["cpu_ih"])
        assert row.region == row.endpoint.region and row.account_id == row.endpoint.account_id


def test_estimation_fills_the_daily_rollups_with_the_sums_of_their_hours(estimated):
    assert estimated.count() > 24 * 14
    assert_rollups_match_hours()
    idle_days = VariantDay.objects.filter(endpoint__name="legacy-churn-model", invocations=0)
    assert idle_days.count() >= 8  # the fleet's endpoint has had no traffic for 9 days
    assert all(r.energy_kwh > 0 and r.idle_energy_kwh == pytest.approx(r.energy_kwh) for r in idle_days)


def test_a_recollected_hour_and_a_mid_day_type_change_update_their_day(estimated):
    hour = estimated.filter(endpoint__name="recsys-ranker", variant_name="A").order_by("hour")[30]
    day = hour.hour.astimezone(dt.UTC).date()
    before = VariantDay.objects.get(endpoint=hour.endpoint, variant_name="A", day=day)
    hour.invocations, hour.instance_hours, hour.instance_type = 0, 3.0, "ml.g5.xlarge"
    hour.collected_at = timezone.now()
    hour.save()
    assert footprint.estimate_pending() == 1
    cells = VariantDay.objects.filter(endpoint=hour.endpoint, variant_name="A", day=day)
    assert sorted(cells.values_list("instance_type", "hours")) == [
        ("ml.g5.2xlarge", before.hours - 1),
        ("ml.g5.xlarge", 1),
    ]
    assert_rollups_match_hours()


def test_a_rebuild_gives_the_same_rows_as_incremental_refreshes(estimated):
    incremental = sorted(
        VariantDay.objects.values_list(
            "endpoint_id", "variant_name", "day", "instance_type", "energy_kwh", "invocations"
        )
    )
    VariantDay.objects.all().delete()
    call_command("rollup")
    rebuilt = sorted(
        VariantDay.objects.values_list(
            "endpoint_id", "variant_name", "day", "instance_type", "energy_kwh", "invocations"
        )
    )
    assert len(rebuilt) == len(incremental) > 0
    for a, b in zip(rebuilt, incremental, strict=True):
        assert a[:4] == b[:4] and a[4] == pytest.approx(b[4]) and a[5] == pytest.approx(b[5])


def test_refresh_of_cells_without_hours_removes_their_rows(estimated):
    endpoint = estimated.first().endpoint
    VariantHour.objects.filter(endpoint=endpoint).delete()
    days = set(VariantDay.objects.filter(endpoint=endpoint).values_list("day", flat=True))
    assert days
    rollups.refresh((endpoint.pk, day) for day in days)
    assert not VariantDay.objects.filter(endpoint=endpoint).exists()
