"""Endpoint recommendations from hourly history: which rule fires, what it proposes, what it saves.

Savings are recomputed here straight from the stored hours with the estimator and the price table, not through
the product's replay code, so a wrong replay shows up as a wrong number.
"""

from datetime import timedelta

import pandas as pd
import pytest
from django.utils import timezone

import estimator
from collectors.models import VariantHour
from dashboard.recommend import engine
from dashboard.recommend.endpoint_rules import endpoint_drafts
from dashboard.recommend.models import Recommendation, TeamPolicy
from estimator import prices
from estimator.catalog import hardware
from tests.web import factories

Kind = Recommendation.Kind
MONTH = 730


def monthly_now(endpoint, days: int | None = None, region: str | None = None) -> dict:
    """The endpoint's footprint and cost over its stored hours (of the last ``days``), scaled to a month,
    computed independently; ``region``: the same hours served from another region."""
    stored = VariantHour.objects.filter(endpoint=endpoint)
    if days:
        stored = stored.filter(hour__gte=timezone.now() - timedelta(days=days))
    hours = list(stored.values())
    frame = pd.DataFrame(
        {
            "instance_type": [h["instance_type"] for h in hours],
            "region": region or endpoint.region,
            "hours": 1.0,
            "instance_count": [h["instance_hours"] for h in hours],
            "cpu_util_pct": [h["cpu_util_pct"] for h in hours],
            "gpu_util_pct": [h["gpu_util_pct"] for h in hours],
            "memory_util_pct": [h["memory_util_pct"] for h in hours],
            "invocations": [h["invocations"] for h in hours],
        }
    )
    out = estimator.estimate(frame)
    scale = MONTH / len(hours)
    price = prices.instance_hour_usd(frame["instance_type"][0], region or endpoint.region)
    return {
        "kwh": out["energy_kwh"].sum() * scale,
        "co2e_kg": (out["co2e_kg"].sum() + out["embodied_co2e_kg"].sum()) * scale,
        "usd": None if price is None else price * frame["instance_count"].sum() * scale,
    }


@pytest.fixture
def owner(teams):
    return factories.account(teams[0], "111122223333", "prod")


def drafts(team, **policy):
    return {(d.kind, d.endpoint_id): d for d in endpoint_drafts(team, TeamPolicy(team=team, **policy), timezone.now())}


def test_an_idle_endpoint_is_to_be_deleted_and_saves_all_it_costs(teams, owner):
    idle = factories.endpoint(
        owner, "idle", instance_type="ml.p3.2xlarge", hours=8 * 24, invocations=0, cpu_util_pct=1.0, gpu_util_pct=0.2
    )
    found = drafts(teams[0])
    rec = found[(Kind.IDLE, idle.pk)]
    expected = monthly_now(idle)
    assert rec.saving.kwh == pytest.approx(expected["kwh"], rel=1e-6)
    assert rec.saving.co2e_kg == pytest.approx(expected["co2e_kg"], rel=1e-6)
    assert rec.saving.usd == pytest.approx(expected["usd"]) and expected["usd"] == pytest.approx(3.825 * MONTH)
    assert rec.saving.co2e_kg_low <= rec.saving.co2e_kg <= rec.saving.co2e_kg_high
    assert rec.confidence == "high" and rec.proposed == {"deleted": True}
    assert rec.cli_command == "aws sagemaker delete-endpoint --endpoint-name idle --region us-east-1"
    assert [k for k, e in found if e == idle.pk] == [Kind.IDLE]  # deleting comes first; no sizing advice


def test_idle_needs_the_whole_idle_window_quiet(teams, owner):
    factories.endpoint(owner, "quiet-5-days", instance_type="ml.m5.xlarge", hours=5 * 24, invocations=0)
    assert not [d for d in drafts(teams[0]) if d[0] == Kind.IDLE]  # quiet for 5 days, not the 7 the policy asks
    assert [d for d in drafts(teams[0], idle_days=4) if d[0] == Kind.IDLE]


def test_an_overprovisioned_gpu_variant_gets_the_smallest_size_that_holds_its_p95(teams, owner):
    waste = factories.endpoint(
        owner,
        "tagger",
        instance_type="ml.g5.12xlarge",
        count=2,
        hours=72,
        cpu_util_pct=3.0,
        gpu_util_pct=12.0,
        memory_util_pct=10.0,
    )
    rec = drafts(teams[0])[(Kind.OVERPROVISIONED, waste.pk)]
    proposed, count = rec.proposed["instance_type"], rec.proposed["instance_count"]
    # The work: 12 % of 4 GPUs x 2 instances = 0.96 GPUs busy; 3 % of 48 vCPUs x 2 = 2.88 vCPUs; memory per
    # instance 10 % of 192 GB = 19.2 GB. With 30 % headroom: 1.25 GPUs, 3.74 vCPUs, 25 GB per instance.
    size = hardware(proposed)
    assert size["family"] == "g5" and size["gpu_count"] * count >= 0.96 * 1.3
    assert size["vcpus"] * count >= 2.88 * 1.3 and size["memory_gb"] >= 19.2 * 1.3
    assert (proposed, count) in {("ml.g5.2xlarge", 2), ("ml.g5.xlarge", 2)}  # the two smallest that hold it
    assert rec.saving.co2e_kg > 0.5 * monthly_now(waste)["co2e_kg"]
    assert "--production-variants" in rec.cli_command and proposed in rec.cli_command


def test_the_teams_availability_floor_is_kept(teams, owner):
    light = factories.endpoint(
        owner, "light", instance_type="ml.m5.4xlarge", count=3, hours=48, cpu_util_pct=2.0, memory_util_pct=5.0
    )
    assert drafts(teams[0])[(Kind.OVERPROVISIONED, light.pk)].proposed["instance_count"] == 1
    assert drafts(teams[0], min_instances=2)[(Kind.OVERPROVISIONED, light.pk)].proposed["instance_count"] == 2


def test_thresholds_and_the_minimum_of_hours_are_respected(teams, owner):
    light = factories.endpoint(
        owner, "light", instance_type="ml.m5.4xlarge", hours=48, cpu_util_pct=20.0, memory_util_pct=5.0
    )
    assert (Kind.OVERPROVISIONED, light.pk) in drafts(teams[0])
    assert (Kind.OVERPROVISIONED, light.pk) not in drafts(teams[0], cpu_p95_max_pct=15.0)
    assert (Kind.OVERPROVISIONED, light.pk) not in drafts(teams[0], min_hours=49)
    VariantHour.objects.filter(endpoint=light, hour__lt=timezone.now() - timedelta(hours=20)).delete()
    assert (Kind.OVERPROVISIONED, light.pk) not in drafts(teams[0])


def test_busy_right_sized_endpoints_get_no_sizing_advice(teams, owner):
    busy = factories.endpoint(
        owner,
        "busy",
        instance_type="ml.g5.2xlarge",
        hours=72,
        cpu_util_pct=50.0,
        gpu_util_pct=75.0,
        memory_util_pct=60.0,
        invocations=5000,
    )
    graviton = factories.endpoint(
        owner, "arm", instance_type="ml.c7g.xlarge", hours=72, cpu_util_pct=55.0, memory_util_pct=50.0
    )
    kinds = {kind for kind, endpoint in drafts(teams[0]) if endpoint in (busy.pk, graviton.pk)}
    assert kinds == set()


def test_sustained_high_utilization_is_a_performance_risk_notice(teams, owner):
    hot = factories.endpoint(owner, "hot", instance_type="ml.c5.xlarge", hours=48, cpu_util_pct=92.0)
    rec = drafts(teams[0])[(Kind.UNDERPROVISIONED, hot.pk)]
    assert rec.proposed == {"instance_type": "ml.c5.xlarge", "instance_count": 2}
    assert rec.saving.co2e_kg < 0  # it costs carbon: the notice says so instead of hiding it


def test_an_x86_cpu_variant_gets_its_graviton_equivalent(teams, owner):
    x86 = factories.endpoint(
        owner, "x86", instance_type="ml.c5.2xlarge", hours=48, cpu_util_pct=55.0, memory_util_pct=50.0
    )
    rec = drafts(teams[0])[(Kind.SILICON, x86.pk)]
    assert rec.proposed == {"instance_type": "ml.c7g.2xlarge", "instance_count": 1}
    assert 0 < rec.saving.kwh < monthly_now(x86)["kwh"]
    assert "arm64" in rec.caveats


def test_a_barely_used_gpu_gets_a_cpu_instance(teams, owner):
    gpu = factories.endpoint(
        owner,
        "gpu",
        instance_type="ml.g4dn.xlarge",
        hours=48,
        cpu_util_pct=10.0,
        gpu_util_pct=2.0,
        memory_util_pct=20.0,
    )
    rec = drafts(teams[0])[(Kind.GPU_UNUSED, gpu.pk)]
    assert hardware(rec.proposed["instance_type"])["gpu_count"] == 0
    assert rec.confidence == "low" and "Neuron" in rec.caveats


def test_intermittent_traffic_goes_serverless_when_it_fits_and_async_when_it_needs_a_gpu(teams, owner):
    cpu = factories.endpoint(owner, "nightly", instance_type="ml.m5.large", hours=48, memory_util_pct=20.0)
    gpu = factories.endpoint(
        owner, "nightly-gpu", instance_type="ml.g5.xlarge", hours=48, gpu_util_pct=50.0, memory_util_pct=20.0
    )
    for endpoint in (cpu, gpu):  # traffic in 2 of every 24 hours
        for hour in VariantHour.objects.filter(endpoint=endpoint):
            hour.invocations = 500.0 if hour.hour.hour in (2, 3) else 0.0
            hour.save()
    found = drafts(teams[0])
    serverless = found[(Kind.INTERMITTENT, cpu.pk)]
    assert serverless.proposed == {"serverless_memory_mb": 3072}  # 20 % of 8 GB = 1.6 GB, + 30 % = 2.08 GB
    assert found[(Kind.INTERMITTENT, gpu.pk)].proposed == {"mode": "async"}


def test_the_region_rule_is_opt_in_and_picks_the_cleanest_allowed_region(teams, owner):
    busy = factories.endpoint(
        owner, "busy", instance_type="ml.c7g.xlarge", hours=48, cpu_util_pct=60.0, memory_util_pct=50.0
    )
    assert (Kind.REGION, busy.pk) not in drafts(teams[0])
    rec = drafts(teams[0], allowed_regions=["eu-north-1", "eu-west-1"])[(Kind.REGION, busy.pk)]
    assert rec.proposed == {"region": "eu-north-1"}
    # The same hours and IT energy elsewhere: CO2e follows the grid, kWh the regions' PUE (2.0.0: PUE per region).
    here, there = monthly_now(busy), monthly_now(busy, region="eu-north-1")
    assert rec.saving.kwh == pytest.approx(here["kwh"] - there["kwh"]) and rec.saving.kwh > 0
    assert rec.saving.co2e_kg == pytest.approx(here["co2e_kg"] - there["co2e_kg"]) and rec.saving.co2e_kg > 0


def test_small_cpu_endpoints_in_one_place_are_consolidated(teams, owner):
    for index in range(3):
        factories.endpoint(
            owner,
            f"tiny-{index}",
            instance_type="ml.m5.large",
            hours=48,
            cpu_util_pct=5.0,
            memory_util_pct=10.0,
            invocations=50.0,
        )
    consolidations = [
        d for d in endpoint_drafts(teams[0], TeamPolicy(team=teams[0]), timezone.now()) if d.kind == Kind.CONSOLIDATION
    ]
    assert len(consolidations) == 1
    assert consolidations[0].proposed["deleted_endpoints"] == ["tiny-0", "tiny-1", "tiny-2"]
    assert consolidations[0].saving.co2e_kg > 0


def test_other_teams_endpoints_are_never_considered(teams, owner):
    theirs = factories.account(teams[1], "999988887777")
    factories.endpoint(theirs, "their-idle", hours=8 * 24, invocations=0)
    assert drafts(teams[0]) == {}
    assert engine.recompute(teams[0]).created == 0
