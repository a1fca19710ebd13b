"""Register the sandbox's simulated AWS accounts with the demo teams (used by `make demo`)."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from collectors.models import AwsAccount
from dashboard.teams.models import Team

TEAM_OF_ACCOUNT = {"ml-prod": ("ML Platform", "ml-platform"), "ml-research": ("Research", "research")}


class Command(BaseCommand):
    help = "Register the accounts of a running sandbox (from its --ready-file) as the demo teams' AWS accounts."

    def add_arguments(self, parser):
        parser.add_argument("ready_file", type=Path)

    def handle(self, *args, ready_file: Path, **options):
        try:
            fleet = json.loads(ready_file.read_text())
        except (OSError, ValueError) as exc:
            raise CommandError(f"cannot read the sandbox ready file {ready_file}: {exc}") from exc
        exports = fleet.get("cost_exports") or {}
        for account_id, name in fleet["accounts"].items():
            export = exports.get(account_id) or {}  # an account without an export shows list cost only
            team_name, slug = TEAM_OF_ACCOUNT.get(name, (name, name))
            team, _ = Team.objects.get_or_create(slug=slug, defaults={"name": team_name})
            account, created = AwsAccount.objects.update_or_create(
                team=team,
                account_id=account_id,
                defaults={
                    "name": name,
                    "regions": fleet["regions"],
                    "enabled": True,
                    "role_arn": f"arn:aws:iam::{account_id}:role/{fleet['role_name']}",
                    "cost_export_bucket": export.get("bucket", ""),
                    "cost_export_prefix": export.get("prefix", ""),
                    "cost_export_name": export.get("name", ""),
                    "carbon_export_name": export.get("carbon_name", ""),
                },
            )
            verb = "Registered" if created else "Updated"
            billing = (
                f"cost export s3://{account.cost_export_bucket}/{account.cost_export_prefix}/{account.cost_export_name}"
                if account.has_cost_export
                else "no cost export (list cost only)"
            )
            self.stdout.write(f"{verb} {account} for team {team.name} (external id {account.external_id}); {billing}")
