"""Collected hours get estimates with the methodology version; new, re-collected and outdated ones are redone."""

import pandas as pd
import pytest
from django.core.management import call_command

import estimator
from collectors import runner
from collectors.models import VariantHour
from dashboard.footprint import estimates as footprint
from dashboard.footprint.models import VariantHourEstimate
from tests.collectors.conftest import aws_env, prod, register, research  # noqa: F401 - fixtures


@pytest.fixture
def collected(prod):
    runner.run(prod, "us-east-1", "inventory")
    runner.run(prod, "us-east-1", "utilization")
    return VariantHour.objects.filter(endpoint__account=prod)


def test_every_collected_hour_is_estimated_once(collected):
    assert footprint.estimate_pending() == collected.count() > 0
    assert VariantHourEstimate.objects.count() == collected.count()
    assert set(VariantHourEstimate.objects.values_list("methodology", "methodology_version")) == {
        ("default", estimator.METHODOLOGIES["default"].version)
    }
    assert footprint.estimate_pending() == 0


def test_an_hour_is_estimated_from_its_own_instance_hours_and_utilization(collected):
    footprint.estimate_pending()
    hour = collected.filter(endpoint__name="recsys-ranker", variant_name="A", instance_hours=2).first()
    frame = pd.DataFrame(
        [
            {
                "instance_type": "ml.g5.2xlarge",
                "region": "us-east-1",
                "hours": 2.0,
                "instance_count": 1.0,
                "cpu_util_pct": hour.cpu_util_pct,
                "gpu_util_pct": hour.gpu_util_pct,
                "memory_util_pct": hour.memory_util_pct,
                "invocations": hour.invocations,
            }
        ]
    )
    expected = estimator.estimate(frame).iloc[0]  # 2 instance-hours, described the other way round
    stored = hour.estimate
    assert stored.energy_kwh == pytest.approx(expected.energy_kwh)
    assert stored.co2e_kg_low <= stored.co2e_kg <= stored.co2e_kg_high
    assert stored.gco2e_per_1k_invocations == pytest.approx(expected.gco2e_per_1k_invocations)
    assert "grid:us-east-1" in stored.factors and "gpu:Nvidia A10G" in stored.factors


def test_serverless_hours_cost_energy_only_while_serving(collected):
    footprint.estimate_pending()
    serverless = VariantHourEstimate.objects.filter(variant_hour__endpoint__name="sentiment-serverless")
    assert serverless.exists() and all(e.energy_kwh > 0 for e in serverless)
    assert all(e.gpu_kwh == 0 for e in serverless)


def test_idle_gpu_hours_are_cheaper_than_busy_ones_but_not_free(collected):
    footprint.estimate_pending()
    idle = VariantHourEstimate.objects.filter(
        variant_hour__endpoint__name="legacy-churn-model", variant_hour__invocations=0
    ).first()
    assert idle is not None and idle.energy_kwh > 0
    assert idle.gco2e_per_1k_invocations is None  # no inferences: carbon per inference is undefined, not 0


def test_recollected_and_outdated_hours_are_estimated_again(collected, prod):
    footprint.estimate_pending()
    VariantHourEstimate.objects.filter(variant_hour__endpoint__name="fraud-scoring").update(
        methodology_version="0.0.1"
    )  # as if estimated by an older methodology
    outdated = VariantHourEstimate.objects.filter(methodology_version="0.0.1").count()
    assert footprint.estimate_pending() == outdated > 0
    runner.run(prod, "us-east-1", "utilization")  # an incremental run re-reads the last hours
    recollected = footprint.pending().count()
    assert recollected > 0 and footprint.estimate_pending() == recollected
    assert not VariantHourEstimate.objects.exclude(methodology_version=footprint.current_version()).exists()


def test_the_estimate_command_reports_what_it_did(collected, capsys):
    call_command("estimate")
    assert f"Estimated {collected.count()} variant-hours and 0 workload-hours" in capsys.readouterr().out


def test_the_overview_sums_the_teams_last_week(collected, client, alice, research):
    from datetime import timedelta

    from django.utils import timezone

    runner.run(research, "eu-north-1", "inventory")
    runner.run(research, "eu-north-1", "utilization")  # another team's: not in alice's sums
    footprint.estimate_pending()
    client.force_login(alice)
    before = timezone.now().replace(minute=0, second=0, microsecond=0)
    response = client.get("/", {"period": "7d"})
    # the last 7 x 24 whole hours before the hour the page was asked in
    since, until = response.context["view"].window
    assert until - since == timedelta(days=7) and before <= until <= before + timedelta(hours=1)
    week = [
        e
        for e in VariantHourEstimate.objects.filter(variant_hour__endpoint__account__team=alice.teams.get())
        if since <= e.variant_hour.hour < until
    ]
    summary = response.context["summary"]
    assert summary["energy_kwh"] == pytest.approx(sum(e.energy_kwh for e in week))
    assert summary["co2e_kg"] == pytest.approx(sum(e.co2e_kg for e in week))
    assert f"{sum(e.energy_kwh for e in week):,.1f} kWh" in response.content.decode()


def test_a_refused_hour_is_recorded_and_skipped_and_never_blocks_the_queue(collected, client, alice):
    """A collector bug stores an impossible utilization on the two oldest hours: every other hour is estimated in
    the same run, the two are recorded with the reason and shown on Collection health, the queue is empty (not
    stuck on them), and once the hours are collected again correctly they are estimated."""
    from django.utils import timezone

    from dashboard.footprint.models import EstimateFailure

    broken = list(collected.order_by("pk").values_list("pk", flat=True)[:2])
    VariantHour.objects.filter(pk__in=broken).update(cpu_util_pct=250.0)
    total = collected.count()

    assert footprint.estimate_pending() == total - 2
    assert VariantHourEstimate.objects.count() == total - 2
    failures = {f.variant_hour_id: f.error for f in EstimateFailure.objects.all()}
    assert set(failures) == set(broken)
    assert all("cpu_util_pct" in why and "above 100" in why for why in failures.values())
    assert footprint.pending().count() == 0 and footprint.estimate_pending() == 0

    client.force_login(alice)
    page = client.get("/collection/").content.decode()
    assert "2 variant-hour(s) were refused" in page and "cpu_util_pct is above 100" in page

    VariantHour.objects.filter(pk__in=broken).update(cpu_util_pct=40.0, collected_at=timezone.now())
    assert footprint.estimate_pending() == 2
    assert VariantHourEstimate.objects.count() == total and not EstimateFailure.objects.exists()


def test_a_refused_recollected_hour_leaves_no_stale_estimate_in_the_rollups(collected):
    """Re-collected with a bad value, an hour loses its older estimate, and its day's rollup row sums exactly the
    hours that are still estimated (never the new usage with the old energy)."""
    import datetime as dt

    from django.db.models import Sum
    from django.utils import timezone

    from dashboard.footprint.models import VariantDay

    footprint.estimate_pending()
    hour = collected.filter(instance_hours__gt=0).order_by("pk")[5]
    VariantHour.objects.filter(pk=hour.pk).update(instance_hours=10.0, cpu_util_pct=250.0, collected_at=timezone.now())
    assert footprint.estimate_pending() == 0
    assert not VariantHourEstimate.objects.filter(variant_hour=hour).exists()
    day = hour.hour.astimezone(dt.UTC).date()
    cell = dict(endpoint=hour.endpoint, variant_name=hour.variant_name, instance_type=hour.instance_type)
    estimated = VariantHour.objects.filter(**cell, hour__date=day, estimate__isnull=False)
    row = VariantDay.objects.get(**cell, day=day)
    assert row.instance_hours == pytest.approx(estimated.aggregate(v=Sum("instance_hours"))["v"])
    assert row.energy_kwh == pytest.approx(estimated.aggregate(v=Sum("estimate__energy_kwh"))["v"])


def test_many_refused_hours_in_one_batch_are_all_recorded_and_the_rest_estimated(collected):
    from dashboard.footprint.models import EstimateFailure

    pks = list(collected.order_by("pk").values_list("pk", flat=True))
    broken = pks[::7]  # one hour in seven, spread through the batch
    VariantHour.objects.filter(pk__in=broken).update(memory_util_pct=-5.0)
    assert footprint.estimate_pending() == len(pks) - len(broken)
    assert set(EstimateFailure.objects.values_list("variant_hour_id", flat=True)) == set(broken)
    assert footprint.pending().count() == 0
