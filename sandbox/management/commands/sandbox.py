from django.core.management.base import BaseCommand

from sandbox.cli import main


class Command(BaseCommand):
    help = "Start the simulated AWS (patched moto server on loopback) and seed the demo ML fleet."

    def run_from_argv(self, argv):
        # argparse in sandbox.cli owns the options, so `manage.py sandbox --help` shows them all.
        raise SystemExit(main(argv[2:]))
