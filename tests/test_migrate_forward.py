"""A database created before the apps were split out of ``dashboard`` migrates forward with nothing lost.

The code of the last commit before the split (``BEFORE_SPLIT``) is taken from git into a temporary folder; it
migrates a fresh PostgreSQL database and fills every table the split moved (one row or more each) through its
own models. Today's code then runs ``migrate`` on that database. Every row must still be there, read through
today's models and their relations, the content types must follow the models to their new apps, and today's
``makemigrations --check`` must find the database's schema and the models in step.

Real PostgreSQL and real ``manage.py`` processes; nothing is mocked.
"""

import json
import os
import subprocess
import sys
import tarfile
import uuid
from io import BytesIO
from pathlib import Path

import pytest

from tests.conftest import ROOT

BEFORE_SPLIT = "72b251f"  # "ruff format over the tree": the tree just before dashboard/ became a project of apps

# Run by the code before the split: one row (or more) in every table whose model moved, through its models.
FILL = r"""
import datetime as dt, json
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from collectors.models import AwsAccount, Endpoint, VariantHour
from dashboard.models import (Alert, ApiToken, Channel, Delivery, DigestClaim, DigestSubscription, LoginFailure,
    Membership, NotificationSettings, Recommendation, Team, TeamPolicy, VariantDay, VariantHourEstimate)

hour = dt.datetime(2026, 11, 1, 5, tzinfo=dt.UTC)
user = get_user_model().objects.create_user("ada", password="correct horse battery staple")
team = Team.objects.create(name="ML Platform", slug="ml-platform")
Membership.objects.create(team=team, user=user, role="owner")
token, plaintext = ApiToken.issue(user, team, "finops")
LoginFailure.objects.create(username_key="0" * 64, address="192.0.2.1", at=hour)
account = AwsAccount.objects.create(team=team, account_id="123456789012", name="prod",
                                    role_arn="arn:aws:iam::123456789012:role/wattson", external_id="x" * 32)
endpoint = Endpoint.objects.create(account=account, region="eu-west-1", name="ranker", first_seen=hour, last_seen=hour,
                                   arn="arn:aws:sagemaker:eu-west-1:123456789012:endpoint/ranker")
vh = VariantHour.objects.create(endpoint=endpoint, variant_name="AllTraffic", hour=hour, instance_type="ml.g5.xlarge",
                                instance_hours=1.0, cpu_util_pct=12.5, invocations=0, collected_at=hour)
VariantHourEstimate.objects.create(variant_hour=vh, methodology="default", methodology_version="1.0.0",
                                   cpu_kwh=0.05, gpu_kwh=0.15, memory_kwh=0.02, accelerator_kwh=0.0, energy_kwh=0.25,
                                   computed_at=hour, co2e_kg=0.07, co2e_kg_low=0.05, co2e_kg_high=0.09,
                                   embodied_co2e_kg=0.01, factors="{}", fallbacks="")
VariantDay.objects.create(endpoint=endpoint, account=account, region="eu-west-1", variant_name="AllTraffic",
                          day=hour.date(), instance_type="ml.g5.xlarge", hours=1, instance_hours=1.0,
                          idle_instance_hours=1.0, invocations=0, idle_energy_kwh=0.25, energy_kwh=0.25,
                          co2e_kg=0.07, co2e_kg_low=0.05, co2e_kg_high=0.09, embodied_co2e_kg=0.01)
TeamPolicy.objects.create(team=team)
Recommendation.objects.create(team=team, kind=Recommendation.Kind.choices[0][0], subject="ranker",
                              title="Delete ranker", region="eu-west-1", proposal="Delete it", account=account,
                              endpoint=endpoint, monthly_kwh_saved=5.0, monthly_co2e_kg_saved=1.5,
                              monthly_co2e_kg_saved_low=1.0, monthly_co2e_kg_saved_high=2.0, confidence="high",
                              cli_command="aws sagemaker delete-endpoint", first_seen=hour, computed_at=hour)
NotificationSettings.objects.create(team=team)
channel = Channel.objects.create(team=team, name="ops", kind="webhook", target="https://hooks.example.com/x")
Delivery.objects.create(team=team, channel=channel, what="alert:1:opened", status="sent")
DigestSubscription.objects.create(team=team, user=user)
DigestClaim.objects.create(team=team, user=user, week_start=dt.date(2026, 11, 2))
Alert.objects.create(team=team, endpoint=endpoint, kind="idle", idle_since=hour, opened_at=hour)
moved = {m._meta.db_table: m.objects.count() for m in (Alert, ApiToken, Channel, Delivery, DigestClaim,
         DigestSubscription, LoginFailure, Membership, NotificationSettings, Recommendation, Team, TeamPolicy,
         VariantDay, VariantHourEstimate)}
print(json.dumps({"moved": moved, "plaintext": plaintext,
                  "content_types": sorted(ContentType.objects.filter(app_label="dashboard")
                                          .values_list("model", flat=True))}))
"""

# Run by today's code after its migrate: what it reads through the moved models and their relations.
READ = r"""
import json
from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from collectors.models import AwsAccount
from dashboard.teams.models import ApiToken, Team
from dashboard.teams.models.tokens import digest

moved = {m._meta.db_table: m.objects.count() for m in apps.get_models()
         if m._meta.db_table.startswith("dashboard_") and m._meta.app_label != "dashboard"}
team = Team.objects.get(slug="ml-platform")
plaintext = json.loads(input())
print(json.dumps({
    "moved": moved,
    "labels": sorted({m._meta.app_label for m in apps.get_models() if m._meta.db_table.startswith("dashboard_")}),
    "accounts_of_team": list(team.aws_accounts.values_list("account_id", flat=True)),
    "account_team": AwsAccount.objects.get().team.slug,
    "token_usable": ApiToken.objects.usable().filter(digest=digest(plaintext)).exists(),
    "estimate_of_hour": team.aws_accounts.get().endpoints.get().hours.get().estimate.energy_kwh,
    "days": list(team.aws_accounts.get().endpoints.get().days.values_list("energy_kwh", flat=True)),
    "recommendation": team.recommendations.get().title,
    "alert_endpoint": team.alerts.get().endpoint.name,
    "dashboard_content_types": list(ContentType.objects.filter(app_label="dashboard").values_list("model", flat=True)),
    "moved_content_types": sorted(f"{c.app_label}.{c.model}" for c in ContentType.objects.filter(
        app_label__in=["teams", "footprint", "recommend", "notify"])),
}))
"""


def _old_tree(destination: Path) -> Path:
    try:
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", BEFORE_SPLIT], capture_output=True, check=True
        ).stdout
    except (FileNotFoundError, subprocess.CalledProcessError) as exc:
        pytest.fail(f"the migrate-forward test needs git history with commit {BEFORE_SPLIT}: {exc}")
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(destination, filter="data")
    return destination


def _manage(tree: Path, env: dict, *args: str, stdin: str | None = None) -> str:
    result = subprocess.run(
        [sys.executable, str(tree / "manage.py"), *args],
        cwd=tree,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=None,
    )
    assert result.returncode == 0, f"manage.py {' '.join(args)} in {tree} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture
def scratch_database():
    """A fresh PostgreSQL database of its own (the test runs migrations itself), dropped afterwards."""
    import dj_database_url
    import psycopg

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        pytest.skip("migrating forward is tested on PostgreSQL, production's database (DATABASE_URL)")
    config = dj_database_url.parse(url)
    name = f"wattson_migrate_{uuid.uuid4().hex[:10]}"
    server = {
        key: value
        for key, value in {
            "host": config["HOST"],
            "port": config["PORT"],
            "user": config["USER"],
            "password": config["PASSWORD"],
        }.items()
        if value
    }
    with psycopg.connect(**server, dbname="postgres", autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(**server, dbname="postgres", autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_a_database_from_before_the_split_migrates_forward_and_loses_nothing(scratch_database, tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": scratch_database,
        "VAR_DIR": str(tmp_path / "var"),
        "DJANGO_ENV": "development",
        "DJANGO_SETTINGS_MODULE": "dashboard.settings",
    }
    old = _old_tree(tmp_path / "before-split")
    _manage(old, env, "migrate", "--no-input")
    output = _manage(old, env, "shell", "-c", FILL)
    before = json.loads(output.strip().splitlines()[-1])
    assert all(count >= 1 for count in before["moved"].values()), before["moved"]
    assert "team" in before["content_types"]  # the old code registered its content types under "dashboard"

    _manage(ROOT, env, "migrate", "--no-input")
    output = _manage(ROOT, env, "shell", "-c", READ, stdin=json.dumps(before["plaintext"]) + "\n")
    after = json.loads(output.strip().splitlines()[-1])

    assert after["moved"] == before["moved"]  # every table, every row
    assert after["labels"] == ["footprint", "notify", "recommend", "teams"]
    assert after["accounts_of_team"] == ["123456789012"] and after["account_team"] == "ml-platform"
    assert after["estimate_of_hour"] == 0.25 and after["days"] == [0.25]
    assert after["token_usable"]  # the token issued before the split still authenticates its member
    assert after["recommendation"] == "Delete ranker" and after["alert_endpoint"] == "ranker"
    assert after["dashboard_content_types"] == []
    assert "teams.team" in after["moved_content_types"] and "footprint.variantday" in after["moved_content_types"]
    # The migrated schema and today's models agree, and nothing is left to apply.
    _manage(ROOT, env, "makemigrations", "--check", "--dry-run")
    _manage(ROOT, env, "migrate", "--check")
