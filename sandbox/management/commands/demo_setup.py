"""Create (or reset) the demo team and user, and print how to log in."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from dashboard.notify.models import Channel, NotificationSettings
from dashboard.teams.models import Membership, Team

DEMO_TEAMS = (("ML Platform", "ml-platform"), ("Research", "research"))


class Command(BaseCommand):
    help = "Create the demo teams and the demo user (an operator who may also use the admin)."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="demo")
        parser.add_argument("--password", default="wattson-demo")

    @transaction.atomic
    def handle(self, *args, username: str, password: str, **options):
        user, created = get_user_model().objects.get_or_create(username=username)
        user.set_password(password)
        user.is_staff = user.is_superuser = True
        user.email = user.email or f"{username}@example.com"
        user.save()
        for name, slug in DEMO_TEAMS:
            team, _ = Team.objects.get_or_create(slug=slug, defaults={"name": name})
            Membership.objects.get_or_create(team=team, user=user, defaults={"role": Membership.Role.OWNER})
            # Alerts go to the demo's local mail sink (var/mail/); the digest goes out on Monday mornings, or now
            # from the Digest page.
            Channel.objects.get_or_create(
                team=team,
                kind=Channel.Kind.EMAIL,
                name="On-call (demo mail sink)",
                defaults={"target": f"oncall-{slug}@example.com"},
            )
            NotificationSettings.objects.get_or_create(team=team)
        verb = "Created" if created else "Reset"
        self.stdout.write(self.style.SUCCESS(f"{verb} demo user  username: {username}  password: {password}"))
