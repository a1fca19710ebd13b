"""Run the collectors synchronously, with a progress bar and a summary."""

from collections import Counter
from datetime import UTC, datetime

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from collectors import runner
from collectors.models import AwsAccount
from collectors.models.health import Source


def parse_since(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--since must be an ISO date or date-time, e.g. 2026-11-01, got {value!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


SUMMARY_COUNTS = ("endpoints", "variants", "hours", "log_groups", "rows", "new_rows", "calls", "minimum_calls")


class Command(BaseCommand):
    help = "Collect from AWS now: endpoints, utilization, log groups, Storage Lens and list prices."

    def add_arguments(self, parser):
        parser.add_argument("--account", help="12-digit AWS account id (default: every enabled account)")
        parser.add_argument("--region", help="only this region")
        parser.add_argument("--source", choices=Source.values, help="only this collector")
        parser.add_argument("--since", help="re-collect utilization from this ISO date (UTC) on")
        parser.add_argument("--no-estimate", action="store_true", help="skip estimating the collected hours")

    def handle(self, *args, account=None, region=None, source=None, since=None, no_estimate=False, **options):
        accounts = AwsAccount.objects.filter(enabled=True)
        if account:
            accounts = accounts.filter(account_id=account)
            if not accounts.exists():
                raise CommandError(f"No enabled AWS account {account} is registered")
        jobs = runner.plan(accounts, [region] if region else None, [source] if source else None)
        if not jobs:
            raise CommandError("Nothing to collect: register an AWS account (admin or the Accounts page) first")
        totals, failures = self.run_jobs(jobs, parse_since(since))
        self.print_summary(totals, failures, len(jobs))
        if not no_estimate:
            call_command("estimate", stdout=self.stdout, stderr=self.stderr)
        if failures:
            raise CommandError(f"{len(failures)} of {len(jobs)} collections failed")

    def run_jobs(self, jobs, since):
        totals: Counter[str] = Counter()
        failures: list[str] = []
        with tqdm(jobs, unit="job", disable=None, file=self.stderr._out) as bar:
            for account, region, source in bar:
                bar.set_description(f"{account.account_id} {region} {source}")
                try:
                    summary = runner.run(account, region, source, since)
                except (runner.CollectionFailed, runner.CollectionBusy) as exc:
                    failures.append(str(exc))
                    continue
                totals["api_calls"] += summary.api_calls
                for key in SUMMARY_COUNTS:
                    if isinstance(summary.details.get(key), int):
                        totals[f"{source}.{key}"] += summary.details[key]
        return totals, failures

    def print_summary(self, totals: Counter, failures: list[str], jobs: int) -> None:
        self.stdout.write(
            f"Collected {jobs - len(failures)} of {jobs} jobs: {totals['inventory.endpoints']} endpoints, "
            f"{totals['inventory.variants']} variants, {totals['utilization.hours']} variant-hours, "
            f"{totals['log_groups.log_groups']} log groups, {totals['storage_lens.rows']} Storage Lens rows, "
            f"{totals['prices.rows']} prices ({totals['prices.new_rows']} new); "
            f"{totals['api_calls']} AWS API calls (GetMetricData {totals['utilization.calls']}, "
            f"minimum {totals['utilization.minimum_calls']})"
        )
        for failure in failures:
            self.stderr.write(self.style.ERROR(f"failed: {failure}"))
