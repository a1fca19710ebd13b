"""Model 2.0.0 in the product: collected GPU hours stored with parked-idle to board power, market-based CO2e on
every stored estimate, and 1.0.0 estimates redone. Expectations come from the cited tables in estimator/data, not
from the estimator."""

import datetime as dt

import pytest
from django.utils import timezone

import estimator
from collectors import runner
from collectors.models import VariantHour
from dashboard.footprint import estimates as footprint
from dashboard.footprint.models import VariantHourEstimate
from estimator.tables import table
from tests.collectors.conftest import aws_env, prod, register, research  # noqa: F401 - fixtures


@pytest.fixture
def collected(prod):
    runner.run(prod, "us-east-1", "inventory")
    runner.run(prod, "us-east-1", "utilization")
    footprint.estimate_pending()
    return VariantHour.objects.filter(endpoint__account=prod)


def gpu_watts(device: str, gpus: int, util_pct: float) -> float:
    """What ``gpus`` boards of ``device`` draw at ``util_pct``, linear from parked idle to board power."""
    row = table("gpu_power_v2", "device_model").loc[device]
    parked, board = float(row["parked_idle_watts"]), float(row["board_watts"])
    return gpus * (parked + (board - parked) * util_pct / 100)


def pue(region: str) -> float:
    return float(table("pue_by_region", "region").at[region, "pue"])


def test_an_idle_gpu_endpoints_hours_cost_parked_idle_power_not_bare_idle(collected):
    hours = collected.filter(endpoint__name="image-tagger", gpu_util_pct__isnull=False)  # 4 x T4, mostly idle
    assert hours.count() > 10
    for hour in hours:
        expected = gpu_watts("Nvidia T4", 4, hour.gpu_util_pct) * hour.instance_hours * pue("us-east-1") / 1000
        assert hour.estimate.gpu_kwh == pytest.approx(expected)
        floor = 4 * 23.5 * hour.instance_hours * pue("us-east-1") / 1000  # 23.5 W parked T4 (gpu_power_v2.csv)
        assert hour.estimate.gpu_kwh >= floor * (1 - 1e-9)


def test_a_busy_g5_reaches_the_a10gs_board_power(collected):
    hour = collected.filter(endpoint__name="recsys-ranker", instance_type="ml.g5.xlarge").first()
    VariantHour.objects.filter(pk=hour.pk).update(gpu_util_pct=100.0, collected_at=timezone.now())
    assert footprint.estimate_pending() == 1
    stored = VariantHourEstimate.objects.get(variant_hour=hour)
    assert stored.gpu_kwh == pytest.approx(300 * hour.instance_hours * pue("us-east-1") / 1000)  # A10G on g5: 300 W


def test_every_stored_estimate_carries_its_market_based_co2e(collected):
    matched = float(table("grid_factors_v2", "region").at["us-east-1", "market_kgco2e_per_kwh"])
    stored = VariantHourEstimate.objects.filter(variant_hour__endpoint__region="us-east-1")
    assert stored.exists() and not stored.filter(co2e_market_kg__isnull=True).exists()
    for estimate in stored[:50]:
        assert estimate.co2e_market_kg == pytest.approx(estimate.energy_kwh * matched)  # AWS: 100 % matched


def test_hours_estimated_by_1_0_0_are_redone_with_a_market_figure(collected):
    redo = VariantHourEstimate.objects.filter(variant_hour__endpoint__name="fraud-scoring")
    count = redo.update(methodology_version="1.0.0", co2e_market_kg=None, computed_at=timezone.now() + dt.timedelta(1))
    assert count > 0
    assert footprint.estimate_pending() == count
    assert set(redo.values_list("methodology_version", flat=True)) == {estimator.METHODOLOGIES["default"].version}
    assert not redo.filter(co2e_market_kg__isnull=True).exists()


class FirstBatchDone(Exception):
    pass


def test_after_a_version_change_new_hours_are_estimated_before_history(collected, monkeypatch):
    newest = collected.order_by("-pk").first()
    VariantHourEstimate.objects.update(methodology_version="1.0.0")  # all history awaits re-estimation
    VariantHourEstimate.objects.filter(variant_hour=newest).delete()  # and one hour was never estimated
    monkeypatch.setattr(footprint, "BATCH_ROWS", 5)

    def stop(count):
        raise FirstBatchDone

    with pytest.raises(FirstBatchDone):
        footprint.estimate_pending(progress=stop)
    current = estimator.METHODOLOGIES["default"].version
    assert VariantHourEstimate.objects.get(variant_hour=newest).methodology_version == current
    assert VariantHourEstimate.objects.filter(methodology_version=current).count() == 1  # history still waits
    monkeypatch.setattr(footprint, "BATCH_ROWS", 5000)  # the rest in batches of the usual size (5 rows: minutes)
    assert footprint.estimate_pending() == collected.count() - 1  # then the rest, oldest first
