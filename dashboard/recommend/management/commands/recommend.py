from django.core.management.base import BaseCommand, CommandError

from dashboard.recommend import engine
from dashboard.recommend.totals import team_savings_total
from dashboard.teams.models import Team


class Command(BaseCommand):
    help = "Re-compute recommendations from the stored history (all teams, or --team SLUG) and print a summary."

    def add_arguments(self, parser):
        parser.add_argument("--team", help="a team's slug; default: every team")

    def handle(self, *args, team=None, **options):
        teams = Team.objects.filter(slug=team) if team else Team.objects.all()
        if team and not teams.exists():
            raise CommandError(f"No team with slug {team!r}")
        for each in teams:
            outcome = engine.recompute(each)
            totals = team_savings_total(each)  # the page's headline: one alternative per variant
            self.stdout.write(
                f"{each.slug}: {outcome.created} new, {outcome.updated} updated, {outcome.resolved} "
                f"resolved, {outcome.withdrawn} withdrawn; {totals.shown} open, "
                f"{totals.co2e_kg:.1f} kg CO2e a month to save (one alternative per variant)"
            )
