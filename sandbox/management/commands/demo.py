"""Run the whole product locally: simulated AWS, web server, Celery worker and beat. Ctrl-C stops it all.

Everything runs on the embedded defaults (SQLite and the server-less broker under var/), so no
PostgreSQL or Redis is needed. The sandbox's URL is handed to every process as AWS_ENDPOINT_URL,
which boto3 honours by itself.
"""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from sandbox.cli import SandboxNotReady, wait_until_ready

SANDBOX_PORT = 5055
SANDBOX_READY_SECONDS = 300
DEMO_COLLECT_SECONDS = "300"  # the demo collects every 5 minutes, so the sandbox's live minutes show up
FIRST_RECOMMENDATIONS_SECONDS = 60
FIRST_ALERTS_SECONDS = 90
DEMO_SMTP_PORT = 1025
DEMO_CHANGE_AFTER_SECONDS = 120  # after the first collection: the change then shows as a change, not as history


class Command(BaseCommand):
    help = "Start the demo: sandbox AWS, web server at 127.0.0.1:PORT, Celery worker and beat."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", 8000)))
        parser.add_argument("--sandbox-port", type=int, default=int(os.environ.get("SANDBOX_PORT", SANDBOX_PORT)))

    def handle(self, *args, port: int, sandbox_port: int, **options):
        self.processes: list[tuple[str, subprocess.Popen]] = []
        self.port = port
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        try:
            env = self.start_sandbox(sandbox_port)
            call_command("sandbox_accounts", env["SANDBOX_READY_FILE"], stdout=self.stdout)
            env = self.start_mail_sink(env)
            self.start("web", [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"], env)
            self.start(
                "worker",
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "dashboard",
                    "worker",
                    "--loglevel",
                    "INFO",
                    "--concurrency",
                    "2",
                ],
                env,
            )
            self.start("beat", [sys.executable, "-m", "celery", "-A", "dashboard", "beat", "--loglevel", "INFO"], env)
            self.first_collection()
            self.stdout.write(self.style.SUCCESS(f"\nWattson is running at http://127.0.0.1:{port}/"))
            self.stdout.write("Log in as  username: demo  password: wattson-demo   (Ctrl-C stops everything)\n")
            self.watch(env["AWS_ENDPOINT_URL"])
        except KeyboardInterrupt:
            self.stdout.write("\nStopping ...")
        finally:
            self.stop_all()

    def first_collection(self) -> None:
        """Queue a collection now rather than at beat's first tick; the dashboard fills within a minute."""
        from collectors.tasks import collect_all, collect_aws_figures, collect_prices
        from dashboard.notify.tasks import check_alerts
        from dashboard.recommend.tasks import recommend

        collect_prices.delay()  # daily in beat; now, so the first pages are priced from the (simulated) Price List
        collect_all.delay()
        collect_aws_figures.delay()  # daily in beat; now, so AWS's own figures sit beside ours from the start
        recommend.apply_async(countdown=FIRST_RECOMMENDATIONS_SECONDS)  # once the first hours are estimated
        check_alerts.apply_async(countdown=FIRST_ALERTS_SECONDS)
        self.stdout.write(
            "Queued the first collection of the sandbox accounts (see Collection health); "
            f"recommendations follow in {FIRST_RECOMMENDATIONS_SECONDS} s."
        )

    def start_mail_sink(self, env: dict) -> dict:
        """A local SMTP server that writes every digest and alert mail to var/mail/ as .eml files."""
        port = int(os.environ.get("DEMO_SMTP_PORT", DEMO_SMTP_PORT))
        folder = settings.VAR_DIR / "mail"
        self.start(
            "mail", [sys.executable, "-m", "sandbox.mailsink", "--port", str(port), "--folder", str(folder)], env
        )
        self.stdout.write(f"Mail (digests, alerts) goes to a local SMTP sink on 127.0.0.1:{port}: see {folder}/")
        return {
            **env,
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(port),
            "EMAIL_USE_TLS": "false",
            "EMAIL_USE_SSL": "false",
            "SITE_URL": env.get("SITE_URL", f"http://127.0.0.1:{self.port}"),
        }

    def start(self, name: str, command: list[str], env: dict) -> subprocess.Popen:
        process = subprocess.Popen(command, cwd=settings.BASE_DIR, env=env, start_new_session=True)
        self.processes.append((name, process))
        return process

    def start_sandbox(self, port: int) -> dict:
        ready_file = settings.VAR_DIR / "sandbox-ready.json"
        ready_file.unlink(missing_ok=True)
        self.stdout.write(f"Starting the simulated AWS on 127.0.0.1:{port} and seeding the demo fleet ...")
        history_days = os.environ.get("SANDBOX_HISTORY_DAYS") or str(demo_history_days(datetime.now(UTC).date()))
        self.start(
            "sandbox",
            [sys.executable, "-m", "sandbox", "--port", str(port), "--ready-file", str(ready_file)],
            {**os.environ, "SANDBOX_HISTORY_DAYS": history_days},
        )
        try:
            fleet = wait_until_ready(self.processes[-1][1], ready_file, SANDBOX_READY_SECONDS)
        except SandboxNotReady as exc:
            raise CommandError(str(exc)) from exc
        return {
            **os.environ,
            # The first collection reads the whole seeded history (the last complete month included).
            "COLLECT_LOOKBACK_DAYS": os.environ.get("COLLECT_LOOKBACK_DAYS", history_days),
            "SCHEDULE_COLLECT_SECONDS": os.environ.get("SCHEDULE_COLLECT_SECONDS", DEMO_COLLECT_SECONDS),
            "SCHEDULE_RECOMMEND_SECONDS": os.environ.get("SCHEDULE_RECOMMEND_SECONDS", DEMO_COLLECT_SECONDS),
            "SCHEDULE_ALERTS_SECONDS": os.environ.get("SCHEDULE_ALERTS_SECONDS", DEMO_COLLECT_SECONDS),
            "AWS_ENDPOINT_URL": fleet["url"],
            "AWS_ACCESS_KEY_ID": "sandbox",
            "AWS_SECRET_ACCESS_KEY": "sandbox",
            "AWS_DEFAULT_REGION": "us-east-1",
            "SANDBOX_READY_FILE": str(ready_file),
        }

    def watch(self, sandbox_url: str) -> None:
        change_at = time.monotonic() + int(os.environ.get("DEMO_CHANGE_AFTER_SECONDS", DEMO_CHANGE_AFTER_SECONDS))
        revision_due, ticks = True, 0
        while True:
            for name, process in self.processes:
                if process.poll() is not None:
                    raise CommandError(f"{name} exited with code {process.returncode}; stopping the demo")
            if change_at and time.monotonic() >= change_at:
                change_at = 0
                self.right_size(sandbox_url)
            ticks += 1
            if revision_due and ticks % 5 == 0 and self.aws_carbon_collected():
                revision_due = False
                self.publish_revision(sandbox_url)
            time.sleep(1)

    def aws_carbon_collected(self) -> bool:
        from collectors.models import CollectionState

        states = CollectionState.objects.filter(source="aws_carbon")
        return states.exists() and not states.filter(last_success__isnull=True).exists()

    def publish_revision(self, sandbox_url: str) -> None:
        """AWS revises a month of its carbon estimates (a newer model version) after the first collection: the next
        one keeps both versions, and the AWS vs ours page marks the month revised."""
        from collectors.tasks import collect_aws_figures
        from sandbox import carbon_export, sustainability

        revision = sustainability.demo_revision(datetime.now(UTC))
        request = urllib.request.Request(  # noqa: S310 - the sandbox's own URL, on loopback
            f"{sandbox_url}/_sandbox/aws_carbon",
            data=json.dumps({"revise": revision}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - the sandbox on loopback
            response.read()
        carbon_export.deliver_revision(sandbox_url, revision, datetime.now(UTC))  # the export restates it too
        collect_aws_figures.delay()
        self.stdout.write(
            f"Demo: AWS revised its carbon estimates of {revision['month']} (model {revision['model_version']}); "
            "collecting them again."
        )

    def right_size(self, sandbox_url: str) -> None:
        """A team applies Wattson's right-sizing of one endpoint in the simulated AWS; the next collection records
        the change, the endpoint's page draws it on every chart, and the next computation resolves the advice."""
        from collectors.tasks import collect_all
        from dashboard.recommend.models import Recommendation
        from sandbox.scenarios import DEMO_CHANGE, demo_change

        advice = Recommendation.objects.filter(
            endpoint__name=DEMO_CHANGE["endpoint"], status="open", kind=Recommendation.Kind.OVERPROVISIONED
        ).first()
        proposed = advice.proposed if advice else {}
        what = demo_change(sandbox_url, proposed.get("instance_type"), proposed.get("instance_count"))
        collect_all.delay()
        self.stdout.write(
            f"Demo: {what} in the simulated AWS{' as Wattson recommended' if advice else ''}; "
            "collecting now, so its page shows the change and the recommendation resolves."
        )

    def stop_all(self) -> None:
        for _, process in reversed(self.processes):
            if process.poll() is None:
                process.terminate()  # a warm shutdown: Celery finishes or requeues its current task
        for name, process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.stderr.write(f"{name} did not stop in time; killing it")
                os.killpg(process.pid, signal.SIGKILL)


def demo_history_days(today: date) -> int:
    """Days of history that cover the last complete month and this one so far: AWS publishes its carbon estimates
    per complete month, and the AWS vs ours page compares a month only as far as we collected it."""
    first_of_last_month = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    return (today - first_of_last_month).days + 1
