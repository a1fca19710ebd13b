"""The idle corroboration limits move from the notification settings to the team's policy with nothing lost:
``recommend 0002`` copies each team's limits (creating its policy with the defaults otherwise), ``notify 0002``
removes them from the settings, and going back copies them back. Django's own migration executor, on the test
database (real PostgreSQL or SQLite), through the historical models of each state."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("recommend", "0001_initial"), ("notify", "0001_initial")]
AFTER = [("recommend", "0002_idle_limits"), ("notify", "0002_idle_limits_moved_to_teampolicy")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture
def migrator(transactional_db):
    yield migrate
    executor = MigrationExecutor(connection)  # whatever happened, leave the database at the latest state
    executor.migrate(executor.loader.graph.leaf_nodes())


def test_each_teams_limits_survive_the_move_to_its_policy_and_back(migrator):
    apps = migrator(BEFORE)
    Team = apps.get_model("teams", "Team")
    NotificationSettings = apps.get_model("notify", "NotificationSettings")
    TeamPolicy = apps.get_model("recommend", "TeamPolicy")
    strict, tuned, untouched, unset = (Team.objects.create(name=n, slug=n) for n in ("strict", "tuned", "ok", "unset"))
    NotificationSettings.objects.create(team=strict, idle_max_cpu_pct=2.5, idle_max_gpu_pct=1.0, idle_hours=12)
    NotificationSettings.objects.create(team=tuned, idle_max_cpu_pct=35.0, idle_max_gpu_pct=20.0)
    TeamPolicy.objects.create(team=tuned, idle_days=3, min_instances=2)  # a policy of its own: kept
    TeamPolicy.objects.create(team=untouched, idle_days=10)  # no notification settings: default limits

    apps = migrator(AFTER)
    TeamPolicy = apps.get_model("recommend", "TeamPolicy")
    limits = {
        p.team.slug: (p.idle_max_cpu_pct, p.idle_max_gpu_pct, p.idle_days, p.min_instances)
        for p in TeamPolicy.objects.select_related("team")
    }
    assert limits == {
        "strict": (2.5, 1.0, 7, 1),  # created with the defaults otherwise
        "tuned": (35.0, 20.0, 3, 2),
        "ok": (5.0, 5.0, 10, 1),
    }
    NotificationSettings = apps.get_model("notify", "NotificationSettings")
    fields = {f.name for f in NotificationSettings._meta.get_fields()}
    assert "idle_hours" in fields and not fields & {"idle_max_cpu_pct", "idle_max_gpu_pct"}
    assert NotificationSettings.objects.get(team__slug="strict").idle_hours == 12

    TeamPolicy.objects.filter(team__slug="ok").update(idle_max_gpu_pct=9.0)  # changed after the move
    apps = migrator(BEFORE)
    NotificationSettings = apps.get_model("notify", "NotificationSettings")
    back = {s.team.slug: (s.idle_max_cpu_pct, s.idle_max_gpu_pct) for s in NotificationSettings.objects.all()}
    assert back == {"strict": (2.5, 1.0), "tuned": (35.0, 20.0), "ok": (5.0, 9.0)}  # none for "unset": defaults

    apps = migrator(AFTER)
    policies = apps.get_model("recommend", "TeamPolicy").objects.select_related("team")
    assert {p.team.slug: (p.idle_max_cpu_pct, p.idle_max_gpu_pct) for p in policies} == {
        "strict": (2.5, 1.0),
        "tuned": (35.0, 20.0),
        "ok": (5.0, 9.0),
    }
