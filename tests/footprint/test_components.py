"""Each inference component's share of its variant-hour's estimate: the split adds up to the hour's estimate, is
recomputed here by hand from the definition (docs/methodology.md), and follows re-collection and re-estimation."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest
from django.utils import timezone

import estimator
from collectors.models import (
    ComponentConfig,
    ComponentHour,
    Endpoint,
    InferenceComponent,
    VariantConfig,
    VariantHour,
)
from dashboard.footprint import components
from dashboard.footprint import estimates as footprint
from dashboard.footprint.models import ComponentHourEstimate, VariantHourEstimate
from tests.collectors.conftest import aws_env, prod  # noqa: F401 - fixtures
from tests.web import factories

GPUS, CORES, MEMORY_MB = 4, 48, 192 * 1024  # ml.g5.12xlarge (AWS EC2 instance types: 4 x A10G, 48 vCPUs, 192 GiB)
HOURS = 6
# Per hour (oldest first): instances, then per component (accelerators reserved, GPU % of what it reserved).
# Hour 3: the copies reserve 7 of 4 GPUs (counted while instances were replaced): shares scaled to add up to 1.
# Hour 4: no component reports load: the load's extra energy goes by reserved share.
# Hour 5: codegen scaled to zero (no copy, no utilization), two instances: half the GPUs unreserved.
PLAN = [
    (1.0, {"chat": (2, 70.0), "summarize": (1, 5.0), "codegen": (1, 30.0)}),
    (1.0, {"chat": (2, 90.0), "summarize": (1, 0.0), "codegen": (1, 0.0)}),
    (1.0, {"chat": (2, 10.0), "summarize": (1, 60.0), "codegen": (0, None)}),
    (1.0, {"chat": (4, 80.0), "summarize": (2, 20.0), "codegen": (1, 40.0)}),
    (1.0, {"chat": (2, None), "summarize": (1, None), "codegen": (0, None)}),
    (2.0, {"chat": (2, 50.0), "summarize": (1, 10.0), "codegen": (0, None)}),
]
INVOCATIONS = {"chat": 36_000.0, "summarize": 40.0, "codegen": 0.0}


def ic_endpoint(owner, name: str = "llm-assistant", plan=PLAN, variant: str = "AllTraffic"):
    """An IC endpoint on ml.g5.12xlarge with hours as ``plan`` says: variant-hours (GPU utilization of the instance:
    the reserved-weighted load) and one component hour per component and hour. Returns (endpoint, components)."""
    row = factories.endpoint(
        owner, name, instance_type="ml.g5.12xlarge", hours=len(plan), gpu_util_pct=30.0, variant=variant
    )
    start = factories.this_hour() - timedelta(hours=len(plan))
    VariantConfig.objects.filter(endpoint=row).update(inference_components=True, model_name="")
    found = {}
    for component in ("chat", "summarize", "codegen"):
        found[component] = InferenceComponent.objects.create(
            endpoint=row,
            variant_name=variant,
            name=f"{name}-{component}",
            status="InService",
            first_seen=start,
            last_seen=factories.this_hour(),
        )
        ComponentConfig.objects.create(
            component=found[component],
            valid_from=start,
            model_name=f"{component}-model",
            cpu_cores_required=4,
            accelerators_required=1,
            min_memory_mb=24_576,
            desired_copy_count=0 if component == "codegen" else (2 if component == "chat" else 1),
            current_copy_count=0 if component == "codegen" else (2 if component == "chat" else 1),
        )
    now = timezone.now()
    for position, (instances, parts) in enumerate(plan):
        hour = start + timedelta(hours=position)
        reserved = sum(accelerators for accelerators, _ in parts.values())
        VariantHour.objects.filter(endpoint=row, hour=hour).update(
            instance_hours=instances, gpu_reservation_pct=min(100.0, 100 * reserved / (GPUS * instances))
        )
        for component, (accelerators, util) in parts.items():
            ComponentHour.objects.create(
                component=found[component],
                hour=hour,
                copies=float(accelerators),
                accelerators_reserved=float(accelerators),
                cpu_cores_reserved=4.0 * accelerators,
                memory_reserved_mb=24_576.0 * accelerators,
                gpu_util_pct=util,
                cpu_util_pct=None if util is None else util / 4,
                invocations=INVOCATIONS[component] if accelerators else None,
                collected_at=now,
            )
    return row, found


@pytest.fixture
def fleet(teams):
    owner = factories.account(teams[0], "111122223333")
    row, found = ic_endpoint(owner)
    factories.endpoint(owner, "plain-endpoint", hours=HOURS)  # no components: no split rows
    footprint.estimate_pending()
    return row, found


def expected_split(hour: VariantHour) -> dict:
    """The definition, computed from scratch: E and E_idle from the estimator on this hour's usage written out by
    hand, reserved shares from the component hours and 4 GPUs per instance."""
    usage = {
        "instance_type": "ml.g5.12xlarge",
        "region": "us-east-1",
        "hours": 1.0,
        "instance_count": hour.instance_hours,
        "cpu_util_pct": hour.cpu_util_pct,
        "gpu_util_pct": hour.gpu_util_pct,
        "memory_util_pct": hour.memory_util_pct,
        "invocations": hour.invocations,
    }
    idle_usage = {**usage, "cpu_util_pct": 0.0, "gpu_util_pct": 0.0, "memory_util_pct": 0.0}
    both = estimator.estimate(pd.DataFrame([usage, idle_usage]))
    energy, idle = float(both.energy_kwh[0]), float(both.energy_kwh[1])
    stored = hour.estimate
    assert energy == pytest.approx(stored.energy_kwh, rel=1e-12)
    parts = {
        h.component.name: h for h in ComponentHour.objects.filter(hour=hour.hour, component__endpoint=hour.endpoint)
    }
    ih = hour.instance_hours
    r = {  # the dominant share: the largest of the GPUs, cores and memory each reserves
        name: max(
            h.accelerators_reserved / (GPUS * ih),
            h.cpu_cores_reserved / (CORES * ih),
            h.memory_reserved_mb / (MEMORY_MB * ih),
        )
        for name, h in parts.items()
    }
    if sum(r.values()) > 1:
        r = {name: value / sum(r.values()) for name, value in r.items()}
    load = {name: r[name] * (parts[name].gpu_util_pct or 0.0) for name in parts}
    dynamic = energy - idle
    out = {}
    for name in parts:
        weight = load[name] / sum(load.values()) if sum(load.values()) else r[name] / sum(r.values())
        share_of_energy = (idle * r[name] + dynamic * weight) / energy
        out[name] = {
            "energy_kwh": idle * r[name] + dynamic * weight,
            "co2e_kg": stored.co2e_kg * share_of_energy,
            "embodied_co2e_kg": stored.embodied_co2e_kg * r[name],
            "instance_hours": hour.instance_hours * r[name],
        }
    free = 1 - sum(r.values())
    out[components.UNRESERVED] = {
        "energy_kwh": idle * free,
        "co2e_kg": stored.co2e_kg * idle * free / energy,
        "embodied_co2e_kg": stored.embodied_co2e_kg * free,
        "instance_hours": hour.instance_hours * free,
    }
    return out


def stored_split(hour: VariantHour) -> dict:
    rows = ComponentHourEstimate.objects.filter(variant_hour=hour).select_related("component")
    return {row.component.name if row.component else components.UNRESERVED: row for row in rows}


def test_every_hour_of_an_ic_variant_is_split_as_defined(fleet):
    endpoint, found = fleet
    hours = list(VariantHour.objects.filter(endpoint=endpoint).order_by("hour"))
    assert len(hours) == HOURS
    for hour in hours:
        expected, stored = expected_split(hour), stored_split(hour)
        assert set(stored) == {c.name for c in found.values()} | {components.UNRESERVED}
        for name, values in expected.items():
            for measure, value in values.items():
                assert getattr(stored[name], measure) == pytest.approx(value, rel=1e-9, abs=1e-12), (hour, name)


def test_the_parts_add_up_to_the_variant_hour_exactly(fleet):
    endpoint, _ = fleet
    for hour in VariantHour.objects.filter(endpoint=endpoint).select_related("estimate"):
        rows = list(ComponentHourEstimate.objects.filter(variant_hour=hour))
        for measure in ("energy_kwh", "co2e_kg", "co2e_market_kg", "co2e_kg_low", "co2e_kg_high", "embodied_co2e_kg"):
            assert sum(getattr(row, measure) for row in rows) == pytest.approx(
                getattr(hour.estimate, measure), rel=1e-12
            ), measure
        assert sum(row.instance_hours for row in rows) == pytest.approx(hour.instance_hours, rel=1e-12)
        assert all(row.energy_kwh >= 0 for row in rows)


def test_scaled_to_zero_reserves_nothing_and_costs_nothing(fleet):
    endpoint, found = fleet
    last = VariantHour.objects.filter(endpoint=endpoint).order_by("-hour").first()
    codegen = ComponentHourEstimate.objects.get(variant_hour=last, component=found["codegen"])
    assert codegen.reserved_share == 0 and codegen.energy_kwh == 0 and codegen.instance_hours == 0
    assert codegen.gco2e_per_1k_invocations is None
    unreserved = ComponentHourEstimate.objects.get(variant_hour=last, component__isnull=True)
    assert unreserved.reserved_share == pytest.approx(5 / 8)  # 3 of 8 GPUs reserved on two instances
    assert unreserved.energy_kwh > 0 and unreserved.gco2e_per_1k_invocations is None


def test_shares_above_capacity_are_scaled_to_one_and_leave_nothing_unreserved(fleet):
    endpoint, found = fleet
    crowded = VariantHour.objects.filter(endpoint=endpoint).order_by("hour")[3]
    stored = stored_split(crowded)
    assert stored["llm-assistant-chat"].reserved_share == pytest.approx(4 / 7)
    assert stored[components.UNRESERVED].energy_kwh == pytest.approx(0, abs=1e-15)


def test_carbon_per_thousand_inferences_is_the_components_own(fleet):
    endpoint, found = fleet
    row = ComponentHourEstimate.objects.filter(component=found["chat"]).first()
    assert row.gco2e_per_1k_invocations == pytest.approx(
        (row.co2e_kg + row.embodied_co2e_kg) * 1e6 / INVOCATIONS["chat"]
    )


def test_capacity_comes_from_the_instance_catalog():
    assert components.capacity_of("ml.m5.xlarge") == components.Capacity(0.0, 4.0, 16 * 1024)
    assert components.capacity_of("ml.inf2.xlarge") == components.Capacity(1.0, 4.0, 16 * 1024)
    assert components.capacity_of("ml.g5.12xlarge") == components.Capacity(GPUS, CORES, MEMORY_MB)
    assert components.capacity_of("ml.unknown.type", vcpus=8, gpus=0) == components.Capacity(0.0, 8.0, 0.0)
    assert (
        not components.capacity_of("ml.m5.xlarge").accelerated and components.capacity_of("ml.inf2.xlarge").accelerated
    )


def test_a_cpu_only_component_on_a_gpu_instance_gets_its_core_share(teams):
    """A tokenizer reserving 12 of 48 cores and no GPU next to an LLM holding 2 of 4 GPUs: a quarter and a half of
    the instance, measured by CPU and GPU load respectively; a component holding most of the memory holds that."""
    owner = factories.account(teams[0], "111122223333")
    plan = [(1.0, {"chat": (2, 60.0), "summarize": (0, None), "codegen": (0, None)})]
    row, found = ic_endpoint(owner, "mixed", plan=plan)
    hour = ComponentHour.objects.get(component=found["summarize"])
    ComponentHour.objects.filter(pk=hour.pk).update(
        copies=1.0, accelerators_reserved=0.0, cpu_cores_reserved=12.0, memory_reserved_mb=8192.0, cpu_util_pct=50.0
    )
    ComponentConfig.objects.filter(component=found["summarize"]).update(accelerators_required=0, cpu_cores_required=12)
    codegen = ComponentHour.objects.get(component=found["codegen"])
    ComponentHour.objects.filter(pk=codegen.pk).update(  # a CPU model holding most of the memory, few cores
        copies=1.0,
        accelerators_reserved=0.0,
        cpu_cores_reserved=2.0,
        memory_reserved_mb=0.4 * MEMORY_MB,
        cpu_util_pct=5.0,
    )
    ComponentConfig.objects.filter(component=found["codegen"]).update(accelerators_required=0)
    footprint.estimate_pending()
    split = stored_split(VariantHour.objects.get(endpoint=row))
    dominant = {"mixed-chat": 2 / GPUS, "mixed-summarize": 12 / CORES, "mixed-codegen": 0.4}  # GPUs, cores, memory
    total = sum(dominant.values())  # 1.15: scaled down to add up to 1
    for name, share in dominant.items():
        assert split[name].reserved_share == pytest.approx(share / total), name
    assert split["mixed-summarize"].util_pct == 50.0 and split["mixed-chat"].util_pct == 60.0  # CPU vs GPU load
    assert split["mixed-summarize"].energy_kwh > 0


@pytest.mark.django_db
def test_non_ic_hours_have_no_component_rows(fleet):
    assert not ComponentHourEstimate.objects.filter(endpoint__name="plain-endpoint").exists()
    assert footprint.pending().count() == 0


def test_a_component_hour_collected_after_its_variant_hour_is_split_again(fleet):
    endpoint, found = fleet
    hour = VariantHour.objects.filter(endpoint=endpoint).order_by("hour").first()
    before = stored_split(hour)["llm-assistant-chat"].energy_kwh
    ComponentHour.objects.filter(component=found["chat"], hour=hour.hour).update(
        gpu_util_pct=5.0, collected_at=timezone.now()
    )
    assert list(footprint.pending().values_list("pk", flat=True)) == [hour.pk]
    assert footprint.estimate_pending() == 1
    after = stored_split(hour)
    assert after["llm-assistant-chat"].energy_kwh < before
    for name, values in expected_split(hour).items():
        assert after[name].energy_kwh == pytest.approx(values["energy_kwh"], rel=1e-9, abs=1e-12)


def test_a_new_component_hour_is_split_into_its_estimated_hour(fleet):
    endpoint, found = fleet
    hour = VariantHour.objects.filter(endpoint=endpoint).order_by("hour").first()
    late = InferenceComponent.objects.create(
        endpoint=endpoint,
        variant_name="AllTraffic",
        name="llm-assistant-late",
        first_seen=hour.hour,
        last_seen=hour.hour,
    )
    ComponentHour.objects.create(
        component=late, hour=hour.hour, copies=0.0, accelerators_reserved=None, collected_at=hour.collected_at
    )
    assert footprint.pending().count() == 1
    footprint.estimate_pending()
    assert ComponentHourEstimate.objects.get(component=late).energy_kwh == 0  # no copy, no spec: nothing reserved
    assert footprint.pending().count() == 0


def test_a_new_methodology_version_re_splits(fleet):
    endpoint, _ = fleet
    VariantHourEstimate.objects.filter(variant_hour__endpoint=endpoint).update(methodology_version="0.0.1")
    ComponentHourEstimate.objects.update(methodology_version="0.0.1")
    footprint.estimate_pending()
    versions = set(ComponentHourEstimate.objects.values_list("methodology_version", flat=True))
    assert versions == {footprint.current_version()}


def test_a_refused_hour_keeps_no_split(fleet):
    endpoint, _ = fleet
    hour = VariantHour.objects.filter(endpoint=endpoint).order_by("hour").first()
    VariantHour.objects.filter(pk=hour.pk).update(cpu_util_pct=-5.0, collected_at=timezone.now())
    footprint.estimate_pending()
    assert not ComponentHourEstimate.objects.filter(variant_hour=hour).exists()


def test_totals_over_a_window_add_up_per_component_and_to_the_variant(fleet):
    endpoint, found = fleet
    hours = list(VariantHour.objects.filter(endpoint=endpoint).order_by("hour").select_related("estimate"))
    start, end = hours[1].hour, hours[-1].hour  # the window leaves out the first and the last hour
    totals = components.component_totals(endpoint, start, end).set_index("component")
    inside = [h for h in hours if start <= h.hour < end]
    assert totals["energy_kwh"].sum() == pytest.approx(sum(h.estimate.energy_kwh for h in inside), rel=1e-12)
    for name in ("chat", "summarize", "codegen"):
        by_hand = sum(stored_split(h)[found[name].name].energy_kwh for h in inside)
        assert totals.loc[found[name].name, "energy_kwh"] == pytest.approx(by_hand, rel=1e-12)
    chat = totals.loc[found["chat"].name]
    assert chat["invocations"] == INVOCATIONS["chat"] * len(inside)
    assert chat["gco2e_per_1k_invocations"] == pytest.approx(
        (chat["co2e_kg"] + chat["embodied_co2e_kg"]) * 1e6 / chat["invocations"]
    )
    assert totals["energy_share_pct"].sum() == pytest.approx(100)
    assert chat["cost_usd"] > 0  # ml.g5.12xlarge has a shipped list price
    assert totals["cost_usd"].sum() == pytest.approx(sum(components.component_totals(endpoint, start, end)["cost_usd"]))


# --- end to end: the demo fleet's llm-assistant, collected from the sandbox over HTTP -------------------------


@pytest.fixture
def llm(prod):
    from collectors import runner

    runner.run(prod, "us-east-1", "inventory")
    runner.run(prod, "us-east-1", "utilization")
    footprint.estimate_pending()
    return Endpoint.objects.get(account=prod, name="llm-assistant")


def test_llm_assistants_components_and_unreserved_capacity_add_up_to_its_instances_energy(llm):
    hours = list(VariantHour.objects.filter(endpoint=llm).select_related("estimate").order_by("hour"))
    assert len(hours) > 24 and all(hasattr(h, "estimate") for h in hours)
    names = {"llm-assistant-chat", "llm-assistant-summarize", "llm-assistant-codegen"}
    for hour in hours:
        rows = stored_split(hour)
        assert set(rows) == names | {components.UNRESERVED}, hour
        assert sum(r.energy_kwh for r in rows.values()) == pytest.approx(hour.estimate.energy_kwh, rel=1e-12)
        assert sum(r.co2e_kg for r in rows.values()) == pytest.approx(hour.estimate.co2e_kg, rel=1e-12)
        # ml.g5.12xlarge: 4 GPUs per instance; each copy of each component reserves one (sandbox/fleet.py).
        reserved = {
            h.component.name: h.accelerators_reserved
            for h in ComponentHour.objects.filter(component__endpoint=llm, hour=hour.hour).select_related("component")
        }
        capacity = GPUS * hour.instance_hours
        if capacity:
            expected_free = max(0.0, 1 - sum(reserved.values()) / capacity)
            assert rows[components.UNRESERVED].reserved_share == pytest.approx(expected_free), hour
    window = (hours[0].hour, hours[-1].hour + timedelta(hours=1))
    totals = components.component_totals(llm, *window).set_index("component")
    assert totals["energy_kwh"].sum() == pytest.approx(sum(h.estimate.energy_kwh for h in hours), rel=1e-9)
    busy, rare = totals.loc["llm-assistant-chat"], totals.loc["llm-assistant-summarize"]
    assert busy["energy_kwh"] > rare["energy_kwh"] > 0  # two busy copies draw more than one barely used
    assert busy["gco2e_per_1k_invocations"] < rare["gco2e_per_1k_invocations"]  # and carry less per inference


def test_codegen_scaled_to_zero_gets_nothing_and_leaves_a_quarter_of_the_gpus_unreserved(llm):
    recent = [
        h
        for h in ComponentHour.objects.filter(component__name="llm-assistant-codegen", component__endpoint=llm)
        if h.copies == 0
    ]
    assert len(recent) >= 24
    single = 0
    for hour in recent[-24:]:
        split = ComponentHourEstimate.objects.get(component_hour=hour)
        assert split.energy_kwh == 0 and split.instance_hours == 0
        variant_hour = split.variant_hour
        if variant_hour.instance_hours == 1:  # one instance: chat's 2 GPUs and summarize's 1 of 4
            unreserved = ComponentHourEstimate.objects.get(variant_hour=variant_hour, component__isnull=True)
            assert unreserved.reserved_share == pytest.approx(0.25)
            assert unreserved.energy_kwh > 0
            single += 1
    assert single > 0
