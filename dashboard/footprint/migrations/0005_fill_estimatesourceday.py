# Fills where existing estimates come from, per endpoint and UTC day, so the endpoint page's provenance reads
# these rows at once. Later rows are kept current by dashboard.footprint.rollups.refresh().
# Written out here (historical models, no import of the app's code, which may change later).

import datetime as dt

from django.db import migrations
from django.db.models import Count, F, Max
from django.db.models.functions import TruncDate

BATCH = 2000


def fill(apps, schema_editor):
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
    dependencies = [("footprint", "0004_estimatesourceday")]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
