from django.core.management.base import BaseCommand
from tqdm import tqdm

from collectors.models import VariantHour
from dashboard.footprint import rollups


class Command(BaseCommand):
    help = (
        "Rebuild the rollups from the hourly data: daily (VariantDay), monthly (VariantMonth) and the daily "
        "provenance of estimates (EstimateSourceDay). They are kept current as hours are estimated; run this "
        "after restoring a backup or changing the rollup code (then ANALYZE on PostgreSQL, see README)."
    )

    def handle(self, *args, **options):
        endpoints = VariantHour.objects.values("endpoint_id").distinct().count()
        with tqdm(total=endpoints, unit="endpoint", disable=None, file=self.stderr._out) as bar:
            written = rollups.rebuild(progress=bar.update)
        self.stdout.write(f"Wrote {written} daily rollup rows (and their months) for {endpoints} endpoints")
