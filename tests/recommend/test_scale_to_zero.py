"""Scale to zero (issue 17): intermittent GPU endpoints are told to let their instances go to zero between bursts,
with savings recomputed here from the stored per-hour estimates; busy, idle and already scaling endpoints are not;
hours at zero instances cost nothing.

The quiet stretches and what each keeps (15 minutes of scale-in, 15 of start-up) are recomputed by a plain loop
over the hours, not by the rule's code.
"""

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
from django.utils import timezone

import estimator
from collectors import runner
from collectors.models import Endpoint, InferenceComponent, VariantConfig, VariantHour
from dashboard.footprint import estimates as footprint
from dashboard.footprint.models import VariantDay, VariantHourEstimate
from dashboard.footprint.queries import with_cost
from dashboard.recommend import engine, totals
from dashboard.recommend.endpoint_rules import endpoint_drafts
from dashboard.recommend.models import Recommendation, TeamPolicy
from estimator import prices
from sandbox import fleet as fl
from tests.collectors.conftest import aws_env, prod, register, research  # noqa: F401 - fixtures
from tests.web import factories

Kind, Status = Recommendation.Kind, Recommendation.Status
MONTH = 730
HOUR = timedelta(hours=1)


def kept_shares(hours: list[dict]) -> list[float]:
    """Per hour (oldest first): the share of its instance-hours that still runs with scale-to-zero. Stretches are
    runs of >= 2 consecutive hours without an invocation; each keeps a quarter of its first and last hour."""
    kept, i = [1.0] * len(hours), 0
    while i < len(hours):
        if hours[i]["invocations"]:
            i += 1
            continue
        j = i + 1
        while j < len(hours) and not hours[j]["invocations"] and hours[j]["hour"] - hours[j - 1]["hour"] == HOUR:
            j += 1
        if j - i >= 2:  # noqa: PLR2004 - the stretch the rule needs
            kept[i:j] = [0.0] * (j - i)
            kept[i] += 0.25
            kept[j - 1] += 0.25
        i = j
    return kept


def expected_saving(endpoint, since=None) -> dict:
    """The month's saving from the stored per-hour estimates (the numbers the footprint pages show)."""
    stored = VariantHour.objects.filter(endpoint=endpoint).order_by("hour").select_related("estimate")
    if since is not None:
        stored = stored.filter(hour__gte=since)
    hours = [{"hour": h.hour, "invocations": h.invocations, "row": h} for h in stored]
    kept = kept_shares(hours)
    scale = MONTH / len(hours)
    gone = [(1 - k, h["row"]) for k, h in zip(kept, hours, strict=True)]
    price = prices.instance_hour_usd(hours[0]["row"].instance_type, endpoint.region)
    return {
        "kwh": sum(share * row.estimate.energy_kwh for share, row in gone) * scale,
        "co2e_kg": sum(share * (row.estimate.co2e_kg + row.estimate.embodied_co2e_kg) for share, row in gone) * scale,
        "usd": price * sum(share * row.instance_hours for share, row in gone) * scale,
        "instance_hours_saved": sum(share * row.instance_hours for share, row in gone),
        "quiet_hours": sum(1 for k in kept if k < 1),
        "hours": len(hours),
    }


# --- built in the database ---------------------------------------------------------------------------------------


@pytest.fixture
def owner(teams):
    return factories.account(teams[0], "111122223333", "prod")


def gpu_endpoint(owner, name: str, *, mode: str = "async", busy_hours=(2, 3, 13), hours: int = 7 * 24, **fields):
    """A 1 x ml.g5.xlarge endpoint with traffic only in ``busy_hours`` of each UTC day, estimated."""
    endpoint = factories.endpoint(
        owner, name, instance_type="ml.g5.xlarge", hours=hours, gpu_util_pct=3.0, memory_util_pct=40.0, **fields
    )
    Endpoint.objects.filter(pk=endpoint.pk).update(mode=mode)
    for hour in VariantHour.objects.filter(endpoint=endpoint):
        busy = hour.hour.hour in busy_hours
        hour.invocations = 400.0 if busy else 0.0
        hour.gpu_util_pct = 60.0 if busy else 3.0
        hour.save()
    footprint.estimate_pending()
    endpoint.refresh_from_db()
    return endpoint


def drafts(team, **policy):
    return {(d.kind, d.endpoint_id): d for d in endpoint_drafts(team, TeamPolicy(team=team, **policy), timezone.now())}


def test_an_intermittent_async_gpu_endpoint_is_told_to_scale_to_zero(teams, owner):
    endpoint = gpu_endpoint(owner, "nightly-async")
    rec = drafts(teams[0])[(Kind.SCALE_TO_ZERO, endpoint.pk)]
    expected = expected_saving(endpoint)
    # 21 of 24 hours quiet in two stretches a day (04-13, 14-02); the first and last stretch of the window are cut
    assert expected["quiet_hours"] == rec.evidence["quiet_hours"] >= 0.8 * expected["hours"]
    assert rec.saving.kwh == pytest.approx(expected["kwh"], rel=1e-6)
    assert rec.saving.co2e_kg == pytest.approx(expected["co2e_kg"], rel=1e-6)
    assert rec.saving.usd == pytest.approx(expected["usd"], rel=1e-6)
    assert rec.evidence["instance_hours_saved"] == pytest.approx(expected["instance_hours_saved"], abs=0.01)
    assert rec.saving.co2e_kg_low <= rec.saving.co2e_kg <= rec.saving.co2e_kg_high
    assert rec.proposed == {"min_capacity": 0} and rec.confidence == "medium"
    cli = rec.cli_command
    assert "register-scalable-target" in cli and "--min-capacity 0" in cli
    assert "resource-id endpoint/nightly-async/variant/AllTraffic" in cli.replace("--", "")
    assert "ApproximateBacklogSizePerInstance" in cli and "HasBacklogWithoutCapacity" in cli
    assert "put-metric-alarm" in cli and "StepScaling" in cli
    assert "Cold start" in rec.caveats and "latency-critical" in rec.caveats
    assert "--max-capacity 1 " in cli  # never more than it ran
    # the async rule of old never looked at asynchronous endpoints: this is the only advice
    assert [k for k, e in drafts(teams[0]) if e == endpoint.pk] == [Kind.SCALE_TO_ZERO]


def test_the_scaling_maximum_is_the_most_instances_it_ran(teams, owner):
    endpoint = gpu_endpoint(owner, "bursty-async")
    VariantHour.objects.filter(endpoint=endpoint, invocations__gt=0).update(instance_hours=3.0)
    assert "--max-capacity 3 " in drafts(teams[0])[(Kind.SCALE_TO_ZERO, endpoint.pk)].cli_command


def test_a_realtime_one_moves_to_an_inference_component_with_min_instances_zero(teams, owner):
    endpoint = gpu_endpoint(owner, "nightly-realtime", mode="realtime")
    found = drafts(teams[0])
    rec = found[(Kind.SCALE_TO_ZERO, endpoint.pk)]
    assert rec.proposed == {"min_instance_count": 0, "inference_components": True} and rec.confidence == "low"
    cli = rec.cli_command
    assert '"ManagedInstanceScaling":{"Status":"ENABLED","MinInstanceCount":0,"MaxInstanceCount":1}' in cli
    assert "create-inference-component" in cli and '"NumberOfAcceleratorDevicesRequired":1,' in cli
    assert (
        "inference-component/nightly-realtime-model" in cli and "sagemaker:inference-component:DesiredCopyCount" in cli
    )
    assert "NoCapacityInvocationFailures" in cli
    assert "delete-endpoint" not in cli  # callers move first
    assert rec.saving.co2e_kg == pytest.approx(expected_saving(endpoint)["co2e_kg"], rel=1e-6)
    # the intermittent rule's async proposal is another alternative for the same variant
    assert found[(Kind.INTERMITTENT, endpoint.pk)].proposed == {"mode": "async"}


def test_busy_diurnal_cpu_and_short_gaps_are_not_intermittent(teams, owner):
    busy = gpu_endpoint(owner, "busy-gpu", busy_hours=range(24))
    gappy = gpu_endpoint(owner, "gappy-gpu", busy_hours=range(0, 24, 2))  # quiet one hour in two: no stretch
    few = gpu_endpoint(owner, "mostly-busy", busy_hours=[h for h in range(24) if h not in (3, 4, 5, 6, 7, 8)])
    cpu = factories.endpoint(owner, "nightly-cpu", instance_type="ml.m5.xlarge", hours=7 * 24)
    Endpoint.objects.filter(pk=cpu.pk).update(mode="async")
    VariantHour.objects.filter(endpoint=cpu).exclude(hour__hour__in=(2, 3)).update(invocations=0.0)
    found = drafts(teams[0])
    for endpoint in (busy, gappy, few, cpu):
        assert (Kind.SCALE_TO_ZERO, endpoint.pk) not in found, endpoint.name
    # 6 quiet hours of 24 is 25 %: under the 40 % that makes an endpoint intermittent
    assert 0.2 < expected_saving(few)["quiet_hours"] / expected_saving(few)["hours"] < 0.4


def test_already_scaling_to_zero_is_not_told_again(teams, owner):
    scaled = gpu_endpoint(owner, "async-scaled")  # its quiet hours already run no instance
    VariantHour.objects.filter(endpoint=scaled, invocations=0).update(instance_hours=0.0, collected_at=timezone.now())
    ic = gpu_endpoint(owner, "ic-min-zero", mode="realtime")
    VariantConfig.objects.filter(endpoint=ic).update(inference_components=True, min_instance_count=0, model_name="")
    found = drafts(teams[0])
    assert (Kind.SCALE_TO_ZERO, scaled.pk) not in found
    assert (Kind.SCALE_TO_ZERO, ic.pk) not in found


def test_an_ic_variant_not_yet_at_zero_gets_min_zero_for_its_components_and_resolves_when_applied(teams, owner):
    ic = gpu_endpoint(owner, "ic-min-one", mode="realtime")
    VariantConfig.objects.filter(endpoint=ic).update(
        inference_components=True, min_instance_count=1, max_instance_count=2, model_name=""
    )
    now = timezone.now()
    InferenceComponent.objects.create(
        endpoint=ic, variant_name="AllTraffic", name="ic-min-one-chat", first_seen=now, last_seen=now
    )
    engine.recompute(teams[0])
    rec = Recommendation.objects.get(endpoint=ic, kind=Kind.SCALE_TO_ZERO)
    assert "update-endpoint" in rec.cli_command and "create-inference-component" not in rec.cli_command
    assert "inference-component/ic-min-one-chat" in rec.cli_command and '"MaxInstanceCount":2' in rec.cli_command
    VariantConfig.objects.filter(endpoint=ic).update(min_instance_count=0)
    engine.recompute(teams[0])
    rec.refresh_from_db()
    assert rec.status == Status.RESOLVED


def test_an_async_one_resolves_when_its_quiet_hours_run_no_instance_and_is_withdrawn_when_traffic_fills_them(
    teams, owner
):
    applied, busier = gpu_endpoint(owner, "applied-async"), gpu_endpoint(owner, "busier-async")
    engine.recompute(teams[0])
    assert Recommendation.objects.filter(kind=Kind.SCALE_TO_ZERO, status=Status.OPEN).count() == 2
    # the auto scaling policy is not collected: its effect is, quiet hours at zero instances
    VariantHour.objects.filter(endpoint=applied, invocations=0).update(instance_hours=0.0, collected_at=timezone.now())
    VariantHour.objects.filter(endpoint=busier).update(invocations=50.0, collected_at=timezone.now())
    footprint.estimate_pending()
    engine.recompute(teams[0])
    status = dict(Recommendation.objects.filter(kind=Kind.SCALE_TO_ZERO).values_list("endpoint__name", "status"))
    assert status == {"applied-async": Status.RESOLVED, "busier-async": Status.WITHDRAWN}


def test_an_async_one_resolves_when_its_quiet_hours_have_no_row_at_all(teams, owner):
    """What the collector really stores at zero instances: nothing (no datapoint is published), so the quiet hours
    the region's utilization collection has read for good are missing; until it has read them, nothing resolves."""
    from collectors.models import CollectionState

    applied = gpu_endpoint(owner, "applied-async")
    Endpoint.objects.filter(pk=applied.pk).update(created_time=timezone.now() - timedelta(days=8))
    engine.recompute(teams[0])
    assert Recommendation.objects.get(kind=Kind.SCALE_TO_ZERO).status == Status.OPEN
    VariantHour.objects.filter(endpoint=applied, invocations=0, hour__gte=timezone.now() - timedelta(hours=30)).delete()
    state = CollectionState.objects.create(
        account=applied.account, region=applied.region, source="utilization", watermark=timezone.now()
    )
    engine.recompute(teams[0])  # nothing else in the region has rows for those hours: not known to have been read
    assert Recommendation.objects.get(kind=Kind.SCALE_TO_ZERO).status == Status.OPEN
    factories.endpoint(owner, "neighbour", hours=48)  # the region's collection read those hours: others have rows
    engine.recompute(teams[0])
    assert Recommendation.objects.get(kind=Kind.SCALE_TO_ZERO).status == Status.RESOLVED

    # A busier twin whose hours are all there, read as far: withdrawn once traffic fills its quiet hours.
    busier = gpu_endpoint(owner, "busier-async")
    Endpoint.objects.filter(pk=busier.pk).update(created_time=timezone.now() - timedelta(days=8))
    engine.recompute(teams[0])
    assert Recommendation.objects.get(kind=Kind.SCALE_TO_ZERO, endpoint=busier).status == Status.OPEN
    VariantHour.objects.filter(endpoint=busier).update(invocations=50.0, collected_at=timezone.now())
    footprint.estimate_pending()
    engine.recompute(teams[0])
    rec = Recommendation.objects.get(kind=Kind.SCALE_TO_ZERO, endpoint=busier)
    assert rec.status == Status.WITHDRAWN and state.watermark is not None


def test_an_idle_endpoint_keeps_the_delete_advice_only(teams, owner):
    idle = gpu_endpoint(owner, "gone-quiet", hours=14 * 24)  # intermittent for 5 days, then 9 days without traffic
    VariantHour.objects.filter(endpoint=idle, hour__gte=timezone.now() - timedelta(days=9)).update(invocations=0.0)
    assert [k for k, e in drafts(teams[0]) if e == idle.pk] == [Kind.IDLE]


def test_totals_count_one_alternative_per_variant(teams, owner):
    endpoint = gpu_endpoint(owner, "two-ways", mode="realtime")
    engine.recompute(teams[0])
    recs = list(Recommendation.objects.filter(team=teams[0]).select_related("endpoint"))
    kinds = {r.kind: r for r in recs if r.endpoint_id == endpoint.pk}
    assert {Kind.SCALE_TO_ZERO, Kind.INTERMITTENT} <= set(kinds)
    total = totals.savings_total(recs)
    counted = [r for r in totals.one_per_variant(recs) if r.endpoint_id == endpoint.pk]
    assert len(counted) == 1 and counted[0].monthly_co2e_kg_saved == max(
        r.monthly_co2e_kg_saved for r in kinds.values()
    )
    assert total.co2e_kg == pytest.approx(sum(r.monthly_co2e_kg_saved for r in totals.one_per_variant(recs)))
    assert total.left_out >= len(kinds) - 1


# --- hours at zero instances -------------------------------------------------------------------------------------


def test_hours_at_zero_instances_cost_nothing_in_estimates_and_rollups(teams, owner):
    """A variant scaled to zero for the last two whole UTC days: those hours are 0 kWh, 0 kg, $0."""
    midnight = factories.this_hour().replace(hour=0)
    endpoint = factories.endpoint(owner, "to-zero", instance_type="ml.g5.xlarge", hours=5 * 24, gpu_util_pct=20.0)
    zero_from = midnight - timedelta(days=2)
    VariantHour.objects.filter(endpoint=endpoint, hour__gte=zero_from).update(
        instance_hours=0.0, invocations=0.0, cpu_util_pct=None, gpu_util_pct=None, memory_util_pct=None
    )
    footprint.estimate_pending()
    at_zero = VariantHourEstimate.objects.filter(variant_hour__endpoint=endpoint, variant_hour__hour__gte=zero_from)
    running = VariantHourEstimate.objects.filter(variant_hour__endpoint=endpoint, variant_hour__hour__lt=zero_from)
    assert at_zero.count() == (factories.this_hour() - zero_from) // timedelta(hours=1) > 24
    for estimate in at_zero:
        assert estimate.energy_kwh == 0 and estimate.co2e_kg == 0 and estimate.embodied_co2e_kg == 0
    assert all(e.energy_kwh > 0 for e in running)
    days = pd.DataFrame.from_records(
        VariantDay.objects.filter(endpoint=endpoint).values(
            "day", "instance_type", "region", "instance_hours", "energy_kwh", "co2e_kg_high", "embodied_co2e_kg"
        )
    )
    priced = with_cost(days).set_index("day")
    full_zero_day = (midnight - timedelta(days=1)).date()
    zero_day = priced.loc[full_zero_day]
    assert zero_day["instance_hours"] == 0 and zero_day["energy_kwh"] == 0 and zero_day["cost_usd"] == 0
    assert zero_day["co2e_kg_high"] == 0 and zero_day["embodied_co2e_kg"] == 0
    # the days before still cost what their hours ran: the estimator on the same hours, by hand
    before = priced[priced.index < zero_from.date()]
    hours = VariantHour.objects.filter(endpoint=endpoint, hour__lt=midnight - timedelta(days=2))
    frame = pd.DataFrame(
        {
            "instance_type": "ml.g5.xlarge",
            "region": "us-east-1",
            "hours": 1.0,
            "instance_count": [h.instance_hours for h in hours],
            "cpu_util_pct": [h.cpu_util_pct for h in hours],
            "gpu_util_pct": [h.gpu_util_pct for h in hours],
            "memory_util_pct": [h.memory_util_pct for h in hours],
            "invocations": [h.invocations for h in hours],
        }
    )
    assert before["energy_kwh"].sum() == pytest.approx(estimator.estimate(frame)["energy_kwh"].sum(), rel=1e-9)
    price = prices.instance_hour_usd("ml.g5.xlarge", "us-east-1")
    assert before["cost_usd"].sum() == pytest.approx(price * len(frame), rel=1e-9)


# --- the demo fleet, collected over HTTP -------------------------------------------------------------------------


@pytest.fixture
def collected(prod, research, teams):
    for account in (prod, research):
        runner.run(account, "us-east-1", "inventory")
        runner.run(account, "us-east-1", "utilization")
    footprint.estimate_pending()
    now = timezone.now()
    engine.recompute(teams[0], now)
    engine.recompute(teams[1], now)
    return now


def kinds(name: str) -> dict:
    return {r.kind: r for r in Recommendation.objects.filter(endpoint__name=name)}


def test_the_demo_doc_summarizer_is_told_to_scale_to_zero(collected):
    rec = kinds("doc-summarizer-async")[Kind.SCALE_TO_ZERO]
    endpoint = rec.endpoint
    expected = expected_saving(endpoint, since=collected - timedelta(days=14))  # the rules' default lookback
    assert rec.evidence_hours == expected["hours"]
    assert rec.monthly_kwh_saved == pytest.approx(expected["kwh"], rel=1e-6)
    assert rec.monthly_co2e_kg_saved == pytest.approx(expected["co2e_kg"], rel=1e-6)
    assert rec.monthly_usd_saved == pytest.approx(expected["usd"], rel=1e-6)
    # the quiet hours are the fleet's: traffic only 02:00-04:00 UTC daily and 13:00-14:00 on weekdays
    spec = next(e for e in fl.SHOWCASE if e.name == "doc-summarizer-async")
    hours = VariantHour.objects.filter(endpoint=endpoint, hour__gte=collected - timedelta(days=14))
    for hour in hours:
        middle = np.array([hour.hour.timestamp() + 1800.0])
        assert (hour.invocations > 0) == (fl.traffic(spec, middle, collected.timestamp())[0] > 0), hour.hour
    assert rec.evidence["quiet_hours_pct"] > 80
    assert rec.proposed == {"min_capacity": 0} and "HasBacklogWithoutCapacity" in rec.cli_command
    print(  # the demo's figures, for the report
        f"\ndoc-summarizer-async: {rec.evidence['quiet_hours_pct']} % of {rec.evidence_hours} hours quiet, "
        f"idle energy share {idle_energy_share(endpoint, collected):.1f} %, saves {rec.monthly_kwh_saved:.1f} kWh, "
        f"{rec.monthly_co2e_kg_saved:.2f} kg CO2e, ${rec.monthly_usd_saved:.2f} a month"
    )


def idle_energy_share(endpoint, now) -> float:
    stored = VariantHour.objects.filter(endpoint=endpoint, hour__gte=now - timedelta(days=14)).select_related(
        "estimate"
    )
    total = sum(h.estimate.energy_kwh for h in stored)
    return 100 * sum(h.estimate.energy_kwh for h in stored if not h.invocations) / total


def test_busy_idle_and_ic_demo_endpoints_are_not_told_to_scale_to_zero(collected):
    for name in ("fraud-scoring", "recsys-ranker", "search-embeddings", "llm-assistant", "vision-batch-gpu"):
        assert Kind.SCALE_TO_ZERO not in kinds(name), name
    assert set(kinds("legacy-churn-model")) == {Kind.IDLE}
    playground = kinds("llm-playground")  # a real-time g5.12xlarge used in bursts: two alternatives
    assert playground[Kind.SCALE_TO_ZERO].proposed == {"min_instance_count": 0, "inference_components": True}
    assert playground[Kind.INTERMITTENT].proposed == {"mode": "async"}
    recs = list(Recommendation.objects.filter(endpoint__name="llm-playground").select_related("endpoint"))
    assert totals.savings_total(recs).counted == 1
