"""The periodic-job table: env overrides, 'off', and expires shorter than the period."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from dashboard.schedule import PERIODIC_JOBS, beat_schedule


def test_every_job_expires_before_its_next_run():
    schedule = beat_schedule()
    assert set(schedule) == {job.name for job in PERIODIC_JOBS}
    for entry in schedule.values():
        assert 0 < entry["options"]["expires"] < entry["schedule"]


def test_a_period_can_be_changed_or_switched_off(monkeypatch):
    monkeypatch.setenv("SCHEDULE_HEARTBEAT_SECONDS", "300")
    assert beat_schedule()["heartbeat"]["schedule"] == 300
    assert beat_schedule()["heartbeat"]["options"]["expires"] == 270
    monkeypatch.setenv("SCHEDULE_HEARTBEAT_SECONDS", "off")
    assert "heartbeat" not in beat_schedule()


@pytest.mark.parametrize("value", ["5", "-60", "1h"])
def test_a_bad_period_fails_loudly(monkeypatch, value):
    monkeypatch.setenv("SCHEDULE_HEARTBEAT_SECONDS", value)
    with pytest.raises(ImproperlyConfigured, match="SCHEDULE_HEARTBEAT_SECONDS"):
        beat_schedule()


def test_the_celery_app_uses_the_table():
    from django.conf import settings

    from dashboard.celery import app

    assert app.conf.beat_schedule == settings.CELERY_BEAT_SCHEDULE
    app.loader.import_default_modules()  # what a worker does at start: autodiscovers every app's tasks
    for job in PERIODIC_JOBS:
        assert job.task in app.tasks, job.name
