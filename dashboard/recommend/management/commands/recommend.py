from django.core.management.base import BaseCommand, CommandError

from dashboard.recommend import engine
from dashboard.recommend.models import Recommendation
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
            open_recs = Recommendation.objects.filter(team=each, status=Recommendation.Status.OPEN)
            kg = sum(r.monthly_co2e_kg_saved for r in open_recs)
            self.stdout.write(
                f"{each.slug}: {outcome.created} new, {outcome.updated} updated, {outcome.resolved} "
                f"resolved, {outcome.withdrawn} withdrawn; {open_recs.count()} open, "
                f"{kg:.1f} kg CO2e a month to save"
            )
