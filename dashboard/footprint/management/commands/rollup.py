from django.core.management.base import BaseCommand
from tqdm import tqdm

from collectors.models import VariantHour
from dashboard.footprint import rollups


class Command(BaseCommand):
    help = (
        "Rebuild the daily rollups (VariantDay) from the hourly data. They are kept current as hours are "
        "estimated; run this after restoring a backup or changing the rollup code."
    )

    def handle(self, *args, **options):
        endpoints = VariantHour.objects.values("endpoint_id").distinct().count()
        with tqdm(total=endpoints, unit="endpoint", disable=None, file=self.stderr._out) as bar:
            written = rollups.rebuild(progress=bar.update)
        self.stdout.write(f"Wrote {written} daily rollup rows for {endpoints} endpoints")
