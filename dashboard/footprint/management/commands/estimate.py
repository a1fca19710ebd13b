from django.core.management.base import BaseCommand
from tqdm import tqdm

from dashboard.footprint import estimates as footprint
from dashboard.footprint import workload_estimates


class Command(BaseCommand):
    help = (
        "Estimate energy and CO2e of every variant-hour and workload-hour that is new, re-collected or from an "
        "older methodology."
    )

    def handle(self, *args, **options):
        total = footprint.pending().count()
        with tqdm(total=total, unit="hour", disable=None, file=self.stderr._out) as bar:
            done = footprint.estimate_pending(progress=bar.update)
        workloads = workload_estimates.estimate_pending()
        self.stdout.write(
            f"Estimated {done} variant-hours and {workloads} workload-hours (jobs, notebooks, Studio apps) with "
            f"methodology {footprint.METHODOLOGY} {footprint.current_version()}"
        )
