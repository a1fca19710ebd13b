# Fills the monthly rollups from the daily ones, and where existing estimates come from per endpoint and UTC day,
# so an existing database serves long periods from months and the endpoint page's provenance from days as soon as
# it is migrated. Later rows are kept current by dashboard.footprint.rollups.refresh().
# The sums are written out here (historical models, no import of the app's code, which may change later).

import datetime as dt

from django.db import migrations
from django.db.models import Count, F, FloatField, Max, Q, Sum
from django.db.models.functions import Coalesce, TruncDate, TruncMonth

BATCH = 2000
SUMMED = (
    "hours",
    "instance_hours",
    "idle_instance_hours",
    "invocations",
    "energy_kwh",
    "idle_energy_kwh",
    "co2e_kg",
    "co2e_kg_low",
    "co2e_kg_high",
    "embodied_co2e_kg",
)
UTILIZATION = ("cpu_util_pct", "gpu_util_pct", "memory_util_pct")


def _aggregates() -> dict:
    sums = {f"t_{name}": Sum(name) for name in SUMMED}
    for name in UTILIZATION:
        sums[f"t_{name}_x"] = Coalesce(
            Sum(F(name) * F("instance_hours"), output_field=FloatField()), 0.0, output_field=FloatField()
        )
        sums[f"t_{name}_w"] = Coalesce(
            Sum("instance_hours", filter=Q(**{f"{name}__isnull": False}), output_field=FloatField()),
            0.0,
            output_field=FloatField(),
        )
    return {**sums, "t_cpu_util_max_pct": Max("cpu_util_max_pct"), "t_gpu_util_max_pct": Max("gpu_util_max_pct")}


ROLLUP_LOCK = 0x5761_7474  # dashboard.footprint.rollups.ROLLUP_LOCK, written out (see above)


def serialise_with_refreshes(schema_editor):
    """A worker already running the new code may refresh rollups while this fills them: on PostgreSQL both take
    the same transaction-scoped lock, so neither sees the other half done (SQLite serialises writers already)."""
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ROLLUP_LOCK])


def fill_months(apps, schema_editor):
    serialise_with_refreshes(schema_editor)
    VariantDay = apps.get_model("footprint", "VariantDay")
    VariantMonth = apps.get_model("footprint", "VariantMonth")
    VariantMonth.objects.all().delete()
    grouped = (
        VariantDay.objects.annotate(month=TruncMonth("day"))
        .values("endpoint_id", "variant_name", "month", "instance_type")
        .annotate(account_id=Max("account_id"), region=Max("region"), **_aggregates())
        .order_by()
    )
    batch = []
    for row in grouped.iterator(chunk_size=BATCH):
        batch.append(VariantMonth(**{name.removeprefix("t_"): value for name, value in row.items()}))
        if len(batch) >= BATCH:
            VariantMonth.objects.bulk_create(batch)
            batch = []
    VariantMonth.objects.bulk_create(batch)


def fill_sources(apps, schema_editor):
    serialise_with_refreshes(schema_editor)
    VariantHourEstimate = apps.get_model("footprint", "VariantHourEstimate")
    EstimateSourceDay = apps.get_model("footprint", "EstimateSourceDay")
    EstimateSourceDay.objects.all().delete()
    grouped = (
        VariantHourEstimate.objects.annotate(
            t_endpoint_id=F("variant_hour__endpoint_id"), t_day=TruncDate("variant_hour__hour", tzinfo=dt.UTC)
        )
        .values("t_endpoint_id", "t_day", "methodology", "methodology_version", "factors", "fallbacks")
        .annotate(t_hours=Count("id"), t_last_computed_at=Max("computed_at"))
        .order_by()
    )
    batch = []
    for row in grouped.iterator(chunk_size=BATCH):
        batch.append(EstimateSourceDay(**{name.removeprefix("t_"): value for name, value in row.items()}))
        if len(batch) >= BATCH:
            EstimateSourceDay.objects.bulk_create(batch)
            batch = []
    EstimateSourceDay.objects.bulk_create(batch)


class Migration(migrations.Migration):
    dependencies = [("footprint", "0002_variantmonth_estimatesourceday")]

    operations = [
        migrations.RunPython(fill_months, migrations.RunPython.noop),
        migrations.RunPython(fill_sources, migrations.RunPython.noop),
    ]
