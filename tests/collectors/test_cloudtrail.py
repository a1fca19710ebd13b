"""Configuration history from CloudTrail, over HTTP against the sandbox: the recsys-ranker swap before our first
collection, old-forecast deleted before it, the hours before first collection costed as the hardware that ran,
idempotence, pagination, and a collection without CloudTrail permission."""

import math
from collections import Counter
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from django.core.management import call_command
from django.urls import reverse

from collectors import cloudtrail, runner
from collectors.errors import CollectionFailed
from collectors.models import (
    CollectionState,
    ComponentConfig,
    ComponentHour,
    Endpoint,
    InferenceComponent,
    VariantConfig,
    VariantHour,
)
from collectors.tasks import collect as collect_task
from collectors.utilization import floor_hour
from dashboard.footprint.estimates import pending
from dashboard.footprint.models import VariantHourEstimate
from estimator.catalog import hardware
from sandbox import fleet as fl

FLEET = {e.name: e for e in fl.build_fleet()}
REGION = "us-east-1"
# Event times and the sandbox's own timestamps come from the same seeding clock; a minute covers any rounding.
CLOCK = timedelta(minutes=1)


def seeded(sandbox) -> datetime:
    return datetime.fromisoformat(sandbox["seeded_at"])


def days_before(sandbox, days: float) -> datetime:
    return seeded(sandbox) - timedelta(days=days)


def expected_hour(sandbox, name: str, variant: str, hour: datetime) -> dict:
    """What the fleet's definition implies for one hour, minute by minute (instances, normalised CPU and GPU)."""
    spec = next(v for v in FLEET[name].variants if v.name == variant)
    s = fl.series(
        FLEET[name], spec, np.arange(hour.timestamp(), hour.timestamp() + 3600, 60.0), seeded(sandbox).timestamp()
    )
    n = s["instances"]
    return {
        "instance_hours": n.sum() / 60,
        "cpu_util_pct": (n * s["cpu_pct"]).sum() / n.sum() if n.sum() else None,
        "gpu_util_pct": (n * s["gpu_pct"]).sum() / n.sum() if n.sum() else None,
    }


def collect(account, *sources):
    return {source: runner.run(account, REGION, source) for source in sources}


def history(name: str, variant: str) -> list[VariantConfig]:
    return list(VariantConfig.objects.filter(endpoint__name=name, variant_name=variant).order_by("valid_from"))


def before_swap(sandbox) -> datetime:
    """A whole hour two days before recsys-ranker's swap, inside the first collection's 14-day backfill."""
    return floor_hour(days_before(sandbox, FLEET["recsys-ranker"].swap.days_ago + 2))


def assert_costed_as_the_old_type(sandbox, hour_row: VariantHour) -> None:
    swap = FLEET["recsys-ranker"].swap
    old = hardware(swap.old_instance_type)
    expected = expected_hour(sandbox, "recsys-ranker", "A", hour_row.hour)
    assert (hour_row.instance_type, hour_row.config_assumed) == (swap.old_instance_type, False)
    assert (hour_row.vcpus, hour_row.gpus) == (int(old["vcpus"]), int(old["gpu_count"]))
    assert hour_row.instance_hours == pytest.approx(expected["instance_hours"])
    # CloudWatch sums CPU over the vCPUs that ran: normalised by the old type's 16, not the new type's 8.
    assert hour_row.cpu_util_pct == pytest.approx(expected["cpu_util_pct"])
    assert hour_row.gpu_util_pct == pytest.approx(expected["gpu_util_pct"])


def test_the_recsys_ranker_swap_is_rebuilt_before_the_first_collection(prod, sandbox, client, bob):
    results = collect(prod, "inventory", "cloudtrail", "utilization")
    swap = FLEET["recsys-ranker"].swap
    a = history("recsys-ranker", "A")
    assert [(c.history_source, c.instance_type, c.endpoint_config_name) for c in a] == [
        ("cloudtrail", swap.old_instance_type, "recsys-ranker-config-v1"),
        ("observed", "ml.g5.2xlarge", "recsys-ranker-config-v2"),
    ]
    assert (a[0].initial_instance_count, a[0].desired_instance_count) == (swap.old_instance_count,) * 2
    assert abs(a[0].valid_from - days_before(sandbox, FLEET["recsys-ranker"].created_days_ago)) < CLOCK
    assert abs(a[0].valid_to - days_before(sandbox, swap.days_ago)) < CLOCK
    assert a[1].valid_from == a[0].valid_to and a[1].valid_to is None
    b = history("recsys-ranker", "B")  # same hardware in both configs: only the config name changed
    assert [(c.history_source, c.instance_type, c.endpoint_config_name) for c in b] == [
        ("cloudtrail", "ml.g5.xlarge", "recsys-ranker-config-v1"),
        ("observed", "ml.g5.xlarge", "recsys-ranker-config-v2"),
    ]
    assert "recsys-ranker" in results["cloudtrail"].details["endpoints_rebuilt"]
    # The first utilization run already read the rebuilt history: nothing to collect again.
    assert results["cloudtrail"].details["hours"] == 0
    hour = VariantHour.objects.get(endpoint__name="recsys-ranker", variant_name="A", hour=before_swap(sandbox))
    assert_costed_as_the_old_type(sandbox, hour)
    # The endpoint page (its configuration history and charts) shows what ran before the swap.
    client.force_login(bob)
    page = client.get(reverse("endpoint", args=[a[0].endpoint_id]), {"period": "30d"})
    assert page.status_code == 200 and swap.old_instance_type in page.content.decode()
    label = f"variant A moved from {swap.old_instance_type} to ml.g5.2xlarge"
    assert [change["text"] for change in page.context["changes"]] == [label]
    for chart in page.context["charts"]:
        assert label in [note["text"] for note in chart["layout"]["annotations"]], chart["id"]
    config_table = next(t for t in page.context["tables"] if t.id == "config-history")
    known_from = {(row["variant_name"], row["kind"]): row["source"] for row in config_table.rows}
    assert known_from[("A", swap.old_instance_type)] == "CloudTrail"
    assert known_from[("A", "ml.g5.2xlarge")] == "observed"


def test_hours_collected_before_the_history_was_known_are_collected_again(prod, sandbox):
    collect(prod, "inventory", "utilization")
    assumed = VariantHour.objects.get(endpoint__name="recsys-ranker", variant_name="A", hour=before_swap(sandbox))
    assert (assumed.instance_type, assumed.config_assumed, assumed.vcpus) == ("ml.g5.2xlarge", True, 8)
    untouched = VariantHour.objects.get(endpoint__name="fraud-scoring", hour=before_swap(sandbox))
    call_command("estimate")
    estimated = VariantHourEstimate.objects.get(variant_hour=assumed)

    result = runner.run(prod, REGION, "cloudtrail")

    again = VariantHour.objects.get(pk=assumed.pk)
    assert_costed_as_the_old_type(sandbox, again)
    assert again.collected_at > assumed.collected_at and pending().filter(pk=assumed.pk).exists()
    call_command("estimate")
    estimated_again = VariantHourEstimate.objects.get(variant_hour=assumed)
    assert estimated_again.computed_at > estimated.computed_at
    assert estimated_again.energy_kwh != pytest.approx(estimated.energy_kwh)  # 16 vCPUs and their memory, not 8
    assert not VariantHour.objects.filter(endpoint__name="recsys-ranker", config_assumed=True).exists()
    assert result.details["hours"] >= (seeded(sandbox) - before_swap(sandbox)) // timedelta(hours=1)
    # Only the endpoints whose history changed are read again.
    assert VariantHour.objects.get(pk=untouched.pk).collected_at == untouched.collected_at
    # old-forecast, found now, is read back to its creation (within the lookback) by the next utilization run.
    assert not VariantHour.objects.filter(endpoint__name="old-forecast").exists()
    runner.run(prod, REGION, "utilization")
    assert VariantHour.objects.filter(endpoint__name="old-forecast", instance_hours__gt=0).count() > 7 * 24


def test_a_recollection_cut_short_by_throttling_is_taken_up_by_the_next_run(
    prod, sandbox, sandbox_control, retries_given_up_quickly
):
    """The history is written before the hours are read again; when that read fails (throttling outlasting
    botocore's retries), the next run finds the hours still assumed under a rebuilt configuration and reads them,
    although its events change nothing."""
    collect(prod, "inventory", "utilization")
    hour = before_swap(sandbox)
    sandbox_control("POST", "faults", {"operation": "GetMetricData", "error": "ThrottlingException", "count": 1000})
    with pytest.raises(CollectionFailed):
        runner.run(prod, REGION, "cloudtrail")
    assert [c.history_source for c in history("recsys-ranker", "A")] == ["cloudtrail", "observed"]
    assumed = VariantHour.objects.get(endpoint__name="recsys-ranker", variant_name="A", hour=hour)
    assert assumed.config_assumed  # not read again yet
    sandbox_control("DELETE", "faults")

    again = runner.run(prod, REGION, "cloudtrail")

    assert again.details["config_rows"] == 0 and again.details["hours"] > 0
    assert_costed_as_the_old_type(sandbox, VariantHour.objects.get(pk=assumed.pk))
    assert not VariantHour.objects.filter(endpoint__name="recsys-ranker", config_assumed=True).exists()
    assert runner.run(prod, REGION, "cloudtrail").details["hours"] == 0  # and nothing is read a third time


def test_an_endpoint_deleted_before_the_first_collection_is_found_collected_and_estimated(prod, sandbox):
    results = collect(prod, "inventory", "cloudtrail", "utilization")
    spec = FLEET["old-forecast"]
    endpoint = Endpoint.objects.get(account=prod, region=REGION, name="old-forecast")
    assert results["cloudtrail"].details["discovered"] == ["old-forecast"]
    assert (endpoint.discovered_from, endpoint.status, endpoint.mode) == ("cloudtrail", "Deleted", "realtime")
    assert abs(endpoint.deleted_at - days_before(sandbox, spec.deleted_days_ago)) < CLOCK
    assert abs(endpoint.created_time - days_before(sandbox, spec.created_days_ago)) < CLOCK
    assert endpoint.last_seen == endpoint.deleted_at and endpoint.tags["team"] == "planning"
    configs = list(endpoint.variant_configs.all())
    assert [(c.variant_name, c.instance_type, c.history_source) for c in configs] == [
        ("AllTraffic", "ml.m5.xlarge", "cloudtrail")
    ]
    assert configs[0].valid_to == endpoint.deleted_at

    backfill = CollectionState.objects.get(account=prod, region=REGION, source="utilization").backfill_from
    hours = list(VariantHour.objects.filter(endpoint=endpoint, instance_hours__gt=0).order_by("hour"))
    assert hours[0].hour == backfill and hours[-1].hour == floor_hour(endpoint.deleted_at)
    assert len(hours) == (floor_hour(endpoint.deleted_at) - backfill) // timedelta(hours=1) + 1
    assert {(h.instance_type, h.config_assumed) for h in hours} == {("ml.m5.xlarge", False)}
    minutes = np.arange(backfill.timestamp(), endpoint.deleted_at.timestamp() + 3600, 60.0)
    implied = fl.series(spec, spec.variants[0], minutes, seeded(sandbox).timestamp())["instances"].sum() / 60
    assert sum(h.instance_hours for h in hours) == pytest.approx(implied)

    call_command("estimate")
    assert VariantHourEstimate.objects.filter(variant_hour__in=hours).count() == len(hours)


def test_an_inference_components_copy_count_before_the_first_collection_is_rebuilt(prod, sandbox):
    collect(prod, "inventory", "cloudtrail")
    endpoint = FLEET["llm-assistant"]
    spec = next(c for c in endpoint.components if c.name == "llm-assistant-codegen")
    changed = datetime.fromtimestamp(fl.component_changed_at(spec, seeded(sandbox).timestamp()), UTC)
    rows = list(ComponentConfig.objects.filter(component__name=spec.name).order_by("valid_from"))
    assert [(r.history_source, r.desired_copy_count) for r in rows] == [
        ("cloudtrail", spec.earlier_copies),
        ("observed", spec.copies),
    ]
    assert abs(rows[0].valid_to - changed) < CLOCK and rows[1].valid_from == rows[0].valid_to
    created = days_before(sandbox, endpoint.created_days_ago)
    assert created <= rows[0].valid_from < created + timedelta(minutes=15)  # deployed just after its endpoint
    assert (rows[0].cpu_cores_required, rows[0].accelerators_required, rows[0].min_memory_mb) == (
        spec.cpu_cores,
        spec.accelerators,
        spec.memory_mb,
    )


def snapshot(account) -> dict:
    return {
        "configs": sorted(VariantConfig.objects.filter(endpoint__account=account).values_list()),
        "components": sorted(ComponentConfig.objects.filter(component__endpoint__account=account).values_list()),
        "endpoints": sorted(Endpoint.objects.filter(account=account).values_list()),
        "hours": sorted(VariantHour.objects.filter(endpoint__account=account).values_list("pk", "collected_at")),
    }


def test_a_second_run_changes_nothing(prod):
    collect(prod, "inventory", "cloudtrail", "utilization")
    before = snapshot(prod)
    incremental = runner.run(prod, REGION, "cloudtrail")
    state = CollectionState.objects.get(account=prod, region=REGION, source="cloudtrail")
    CollectionState.objects.filter(pk=state.pk).update(watermark=None)  # and all 90 days again
    full = runner.run(prod, REGION, "cloudtrail")
    assert snapshot(prod) == before
    for result in (incremental, full):
        details = result.details
        assert (details["config_rows"], details["rows_dated_back"], details["component_rows"]) == (0, 0, 0)
        assert details["hours"] == 0
        assert details["discovered"] == [] and details["endpoints_rebuilt"] == []
    assert full.details["events"] > incremental.details["events"]


def scratch_history(account, now: datetime, endpoints: int, deleted: int) -> list[dict]:
    """Backdated events of ``endpoints`` endpoints created 30 days ago, the first ``deleted`` deleted 10 days ago;
    endpoint 0 scaled to 3 instances 20 days ago. Their configs are gone from SageMaker (never created there)."""
    created = now - timedelta(days=30)

    def event(name: str, moment: datetime, **request) -> dict:
        place = {"account": account.account_id, "region": account.regions[0]}
        return {**place, "event_name": name, "event_time": moment.isoformat(), "request_parameters": request}

    variant = {"VariantName": "AllTraffic", "ModelName": "model", "InstanceType": "ml.m5.large"}
    events = []
    for i in range(endpoints):
        moment = created + timedelta(minutes=i)
        variants = [{**variant, "InitialInstanceCount": 1, "InitialVariantWeight": 1.0}]
        events.append(
            event("CreateEndpointConfig", moment, EndpointConfigName=f"gone-{i}", ProductionVariants=variants)
        )
        tags = [{"Key": "team", "Value": "forecasting"}]
        events.append(
            event(
                "CreateEndpoint",
                moment + timedelta(seconds=5),
                EndpointName=f"ep-{i:02d}",
                EndpointConfigName=f"gone-{i}",
                Tags=tags,
            )
        )
    capacity = [{"VariantName": "AllTraffic", "DesiredInstanceCount": 3}]
    events.append(
        event(
            "UpdateEndpointWeightsAndCapacities",
            now - timedelta(days=20),
            EndpointName="ep-00",
            DesiredWeightsAndCapacities=capacity,
        )
    )
    events += [event("DeleteEndpoint", now - timedelta(days=10), EndpointName=f"ep-{i:02d}") for i in range(deleted)]
    return events


def test_events_are_read_page_by_page_and_configs_that_are_gone_come_from_their_events(scratch, sandbox_control):
    now = datetime.now(UTC).replace(microsecond=0)
    events = scratch_history(scratch, now, endpoints=26, deleted=13)
    assert sandbox_control("POST", "cloudtrail", {"events": events})
    runner.run(scratch, "us-west-2", "inventory")
    result = runner.run(scratch, "us-west-2", "cloudtrail")
    details = result.details
    # The 66 seeded events (the fixture's CreateModel is not one of the events we read), read by one lookup per event
    # name we use, 50 a page: an empty name costs its one call.
    assert details["events"] == len(events) == 66
    per_name = Counter(e["event_name"] for e in events)
    expected_calls = sum(max(1, math.ceil(per_name[name] / 50)) for name in cloudtrail.EVENT_NAMES)
    assert details["calls"] == expected_calls == len(cloudtrail.EVENT_NAMES)  # no name has more than one page
    state = CollectionState.objects.get(account=scratch, source="cloudtrail")
    assert state.last_summary["api_calls"]["cloudtrail:LookupEvents"] == expected_calls
    assert details["discovered"] == [f"ep-{i:02d}" for i in range(13)] and details["errors"] == []
    # The watermark is the end of the window read, so a quiet spell is not read again.
    assert state.watermark == datetime.fromisoformat(details["started_at"])
    rows = VariantConfig.objects.filter(endpoint__account=scratch).order_by("endpoint__name", "valid_from")
    scaled = [(r.desired_instance_count, r.valid_from, r.valid_to) for r in rows if r.endpoint.name == "ep-00"]
    assert scaled == [
        (1, now - timedelta(days=30, seconds=-5), now - timedelta(days=20)),
        (3, now - timedelta(days=20), now - timedelta(days=10)),
    ]
    assert {(r.instance_type, r.history_source, r.endpoint.tags["team"]) for r in rows} == {
        ("ml.m5.large", "cloudtrail", "forecasting")
    }
    assert rows.count() == 14  # live endpoints that the inventory did not list (there are none) are left to it


def test_without_cloudtrail_permission_everything_else_is_collected_and_health_says_so(
    prod, sandbox, sandbox_control, client, bob
):
    sandbox_control("POST", "faults", {"operation": "LookupEvents", "error": "AccessDeniedException", "status": 400})
    call_command("collect", "--account", fl.PROD, "--region", REGION, "--no-estimate")  # no CommandError
    states = {s.source: s for s in CollectionState.objects.filter(account=prod, region=REGION)}
    assert {source: s.last_error for source, s in states.items()} == dict.fromkeys(states, "")
    assert all(s.last_success for s in states.values())
    trail = states["cloudtrail"]
    assert trail.last_summary["readable"] is False and trail.watermark is None
    assert trail.last_summary["denied"].startswith("AccessDeniedException")
    # As before CloudTrail: the hours before the swap are costed as the first configuration seen.
    hour = VariantHour.objects.get(endpoint__name="recsys-ranker", variant_name="A", hour=before_swap(sandbox))
    assert (hour.instance_type, hour.config_assumed) == ("ml.g5.2xlarge", True)
    assert not Endpoint.objects.filter(name="old-forecast").exists()

    client.force_login(bob)
    page = client.get(reverse("collection-health")).content.decode()
    first = Endpoint.objects.filter(account=prod, region=REGION).order_by("first_seen").first().first_seen
    assert f"CloudTrail not readable: configuration before {first:%Y-%m-%d %H:%M} UTC (the first collection)" in page
    assert "cloudtrail:LookupEvents" in page

    sandbox_control("DELETE", "faults")  # permission granted: the next run rebuilds the 90 days
    result = runner.run(prod, REGION, "cloudtrail")
    assert result.details["readable"] and "old-forecast" in result.details["discovered"]
    assert "CloudTrail not readable" not in client.get(reverse("collection-health")).content.decode()


def test_cloudtrail_is_planned_between_the_inventory_and_utilization_of_each_region(prod, research):
    jobs = runner.plan([prod, research], sources=runner.HOURLY_SOURCES)
    for account in (prod, research):
        for region in account.regions:
            sources = [s for a, r, s in jobs if (a, r) == (account, region)]
            assert sources[:3] == ["inventory", "cloudtrail", "utilization"], (account, region)


def test_a_failing_cloudtrail_read_is_recorded_and_does_not_end_the_regions_chain(prod, sandbox_control):
    """The Celery task: a failed inventory ends its chain (Ignore), a failed CloudTrail read returns, so the
    utilization chained after it still runs."""
    fault = {"operation": "LookupEvents", "error": "InvalidLookupAttributesException", "status": 400}
    sandbox_control("POST", "faults", fault)
    runner.run(prod, REGION, "inventory")
    outcome = collect_task.apply(args=(prod.pk, REGION, "cloudtrail"))
    assert outcome.successful() and outcome.result is None
    state = CollectionState.objects.get(account=prod, region=REGION, source="cloudtrail")
    assert state.last_error.startswith("InvalidLookupAttributesException") and state.consecutive_failures == 1

    assert outcome.state == "SUCCESS"

    sandbox_control("POST", "faults", {"operation": "DescribeEndpoint", "error": "ValidationException"})
    assert collect_task.apply(args=(prod.pk, REGION, "inventory")).state == "IGNORED"  # Ignore: the chain ends


def test_an_endpoint_created_before_the_window_and_deleted_in_it_is_looked_up_by_name(scratch, sandbox_control):
    """A later run reads from where the last one stopped (less an hour for late delivery); an unknown endpoint whose
    deletion is all it finds there has its creation (and its config's, the config being gone) looked up by name."""
    now = datetime.now(UTC).replace(microsecond=0)
    events = scratch_history(scratch, now, endpoints=2, deleted=0)  # the last event: ep-00 scaled 20 days ago
    sandbox_control("POST", "cloudtrail", {"events": events})
    first = runner.run(scratch, "us-west-2", "cloudtrail")
    lookups = len(cloudtrail.EVENT_NAMES)  # one lookup per event name, one page each here
    assert first.details["discovered"] == [] and first.details["calls"] == lookups
    deletion = {**events[-1], "event_name": "DeleteEndpoint", "event_time": now.isoformat()}
    deletion["request_parameters"] = {"EndpointName": "ep-01"}
    sandbox_control("POST", "cloudtrail", {"events": [deletion]})

    later = runner.run(scratch, "us-west-2", "cloudtrail")

    read_to = datetime.fromisoformat(first.details["started_at"])
    assert datetime.fromisoformat(later.details["window_start"]) == read_to - timedelta(hours=1)
    assert later.details["discovered"] == ["ep-01"] and later.details["errors"] == []
    assert later.details["calls"] == lookups + 2  # the window, the endpoint by name, its config by name
    endpoint = Endpoint.objects.get(account=scratch, name="ep-01")
    created = now - timedelta(days=30) + timedelta(minutes=1, seconds=5)
    assert (endpoint.created_time, endpoint.deleted_at) == (created, now)
    config = endpoint.variant_configs.get()
    assert (config.instance_type, config.endpoint_config_name, config.valid_from, config.valid_to) == (
        "ml.m5.large",
        "gone-1",
        created,
        now,
    )


def test_an_endpoint_deleted_before_the_backfill_is_collected_over_its_life_once(scratch, sandbox, sandbox_control):
    """Deleted 17 days ago, before the 14 days the utilization runs read: its hours, still in CloudWatch, are
    collected by the CloudTrail run over the life its events show, once (a second run reads no metrics)."""
    from tests.collectors.test_metrics_config import put

    now = datetime.now(UTC).replace(microsecond=0)
    events = scratch_history(scratch, now, endpoints=1, deleted=0)
    deleted_at = now - timedelta(days=17)
    sandbox_control(
        "POST",
        "cloudtrail",
        {
            "events": [
                *events,
                {
                    **events[-1],
                    "event_name": "DeleteEndpoint",
                    "event_time": deleted_at.isoformat(),
                    "request_parameters": {"EndpointName": "ep-00"},
                },
            ]
        },
    )
    busy = floor_hour(now - timedelta(days=18))  # before the deletion, after the scale to 3 instances 20 days ago
    dims = {"EndpointName": "ep-00", "VariantName": "AllTraffic"}
    put(sandbox, scratch, "CPUUtilization", dims, busy + timedelta(minutes=5), 180, 80.0)  # 3 instances x 60 min
    runner.run(scratch, "us-west-2", "inventory")

    first = runner.run(scratch, "us-west-2", "cloudtrail")

    assert first.details["discovered"] == ["ep-00"] and first.details["earlier_hours"] == 1
    calls = CollectionState.objects.get(account=scratch, region="us-west-2", source="cloudtrail").last_summary
    assert calls["api_calls"].get("cloudwatch:GetMetricData", 0) >= 1
    row = VariantHour.objects.get(endpoint__name="ep-00", hour=busy)
    assert (row.instance_type, row.config_assumed, row.instance_hours) == ("ml.m5.large", False, 3.0)
    assert row.cpu_util_pct == pytest.approx(80.0 / 2)  # ml.m5.large: 2 vCPUs
    runner.run(scratch, "us-west-2", "utilization")
    assert VariantHour.objects.filter(endpoint__name="ep-00").count() == 1  # the utilization run did not read it

    again = runner.run(scratch, "us-west-2", "cloudtrail")
    assert again.details["earlier_hours"] == 0
    calls = CollectionState.objects.get(account=scratch, region="us-west-2", source="cloudtrail").last_summary
    assert "cloudwatch:GetMetricData" not in calls["api_calls"]


def test_component_hours_reserved_at_a_requirement_cloudtrail_corrects_are_collected_again(
    scratch, sandbox, sandbox_control
):
    """A component first seen reserving 1 GPU per copy ran at 2 per copy before, as its CreateInferenceComponent
    event says: the component hours collected at 1 are collected again at 2 (and only once)."""
    from tests.collectors.test_inference_components import SPEC, add_component, hosting_endpoint, put

    hosting_endpoint(scratch, days_ago=3)
    add_component(scratch, "chat", 2)
    hour = floor_hour(datetime.now(UTC)) - timedelta(hours=26)
    at = hour + timedelta(minutes=3)
    put(
        sandbox,
        scratch,
        fl.HOST_NAMESPACE,
        "CPUUtilizationNormalized",
        {"EndpointName": "shared", "VariantName": "AllTraffic"},
        at,
        60,
        30.0,
    )
    put(
        sandbox,
        scratch,
        "/aws/sagemaker/InferenceComponents",
        "CPUUtilizationNormalized",
        {"InferenceComponentName": "chat"},
        at,
        120,
        20.0,
    )
    runner.run(scratch, "us-west-2", "inventory")
    runner.run(scratch, "us-west-2", "utilization")
    before = ComponentHour.objects.get(component__name="chat", hour=hour)
    assert before.accelerators_reserved == pytest.approx(2 * 1)  # 2 copies x 1 GPU, as first seen
    created = {
        "account": scratch.account_id,
        "region": "us-west-2",
        "event_name": "CreateInferenceComponent",
        "event_time": (datetime.now(UTC) - timedelta(hours=30)).isoformat(),
        "request_parameters": {
            "InferenceComponentName": "chat",
            "EndpointName": "shared",
            "VariantName": "AllTraffic",
            "Specification": {
                "ModelName": "model",
                "ComputeResourceRequirements": {**SPEC, "NumberOfAcceleratorDevicesRequired": 2},
            },
            "RuntimeConfig": {"CopyCount": 2},
        },
    }
    sandbox_control("POST", "cloudtrail", {"events": [created]})

    result = runner.run(scratch, "us-west-2", "cloudtrail")

    assert result.details["component_rows"] == 1 and result.details["hours"] >= 1
    after = ComponentHour.objects.get(component__name="chat", hour=hour)
    assert after.accelerators_reserved == pytest.approx(2 * 2) and after.collected_at > before.collected_at
    again = runner.run(scratch, "us-west-2", "cloudtrail")
    assert (again.details["component_rows"], again.details["hours"]) == (0, 0)


def test_a_component_deleted_before_the_first_collection_is_found_and_gets_its_hours(scratch, sandbox, sandbox_control):
    """Created two days ago on an endpoint we know and deleted a day ago, before the inventory first looked: found
    through its events, recorded as deleted with its specification, and its hours collected with its reservation."""
    from tests.collectors.test_inference_components import SPEC, add_component, hosting_endpoint, put

    hosting_endpoint(scratch, days_ago=3)
    add_component(scratch, "chat", 1)
    now = datetime.now(UTC).replace(microsecond=0)
    hour = floor_hour(now) - timedelta(hours=30)
    at = hour + timedelta(minutes=3)
    host = {"EndpointName": "shared", "VariantName": "AllTraffic"}
    put(sandbox, scratch, fl.HOST_NAMESPACE, "CPUUtilizationNormalized", host, at, 60, 30.0)
    retired = {"InferenceComponentName": "retired"}
    put(sandbox, scratch, "/aws/sagemaker/InferenceComponents", "CPUUtilizationNormalized", retired, at, 60, 55.0)
    place = {"account": scratch.account_id, "region": "us-west-2"}
    events = [
        {
            **place,
            "event_name": "CreateInferenceComponent",
            "event_time": (now - timedelta(days=2)).isoformat(),
            "request_parameters": {
                "InferenceComponentName": "retired",
                "EndpointName": "shared",
                "VariantName": "AllTraffic",
                "Specification": {"ModelName": "model", "ComputeResourceRequirements": SPEC},
                "RuntimeConfig": {"CopyCount": 1},
            },
        },
        {
            **place,
            "event_name": "DeleteInferenceComponent",
            "event_time": (now - timedelta(days=1)).isoformat(),
            "request_parameters": {"InferenceComponentName": "retired"},
        },
    ]
    sandbox_control("POST", "cloudtrail", {"events": events})

    runner.run(scratch, "us-west-2", "inventory")
    found = runner.run(scratch, "us-west-2", "cloudtrail")
    runner.run(scratch, "us-west-2", "utilization")

    assert found.details["components_discovered"] == ["retired"]
    component = InferenceComponent.objects.get(endpoint__account=scratch, name="retired")
    assert (component.status, component.deleted_at, component.created_time) == (
        "Deleted",
        now - timedelta(days=1),
        now - timedelta(days=2),
    )
    (config,) = component.configs.all()
    assert (config.history_source, config.accelerators_required, config.valid_to) == (
        "cloudtrail",
        1,
        now - timedelta(days=1),
    )
    row = ComponentHour.objects.get(component=component, hour=hour)
    assert (row.copies, row.accelerators_reserved, row.cpu_util_pct) == (1.0, 1.0, 55.0)
    assert (
        not ComponentHour.objects.filter(component=component, hour__gte=now - timedelta(days=1))
        .exclude(copies=0)
        .exists()
    )
    again = runner.run(scratch, "us-west-2", "cloudtrail")
    assert again.details["components_discovered"] == [] and again.details["component_rows"] == 0
