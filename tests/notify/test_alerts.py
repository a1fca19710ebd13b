"""Idle alerts: opened once per incident, corroborated by CPU and GPU, excluded by tag, reminded, resolved."""

from datetime import timedelta

import pytest
from django.utils import timezone

from collectors.models import VariantHour
from dashboard.notify import alerts
from dashboard.notify.models import Alert, NotificationSettings
from tests.web import factories


@pytest.fixture
def owner(teams):
    return factories.account(teams[0], "111122223333", "prod")


def now_for(endpoint):
    """An evaluation time just after the endpoint's last collected hour."""
    last = VariantHour.objects.filter(endpoint=endpoint).order_by("-hour").first().hour
    return last + timedelta(hours=1, minutes=5)


def test_an_idle_endpoint_opens_one_alert_and_only_one(teams, owner):
    idle = factories.endpoint(
        owner, "idle", instance_type="ml.g5.xlarge", hours=48, invocations=0, cpu_util_pct=1.0, gpu_util_pct=0.3
    )
    busy = factories.endpoint(owner, "busy", hours=48, invocations=500)
    factories.estimate()
    now = now_for(idle)
    outcome, events = alerts.evaluate(teams[0], now)
    assert outcome.opened == 1 and [e[1] for e in events] == ["opened"]
    alert = Alert.objects.get()
    assert alert.endpoint == idle and alert.evidence["energy_kwh"] > 0
    # the idle period is the whole quiet history (48 h), not the 24-hour detection window (issue 16, item 3)
    first = VariantHour.objects.filter(endpoint=idle).order_by("hour").first().hour
    assert alert.idle_since == first and alert.evidence["hours"] == 48
    again, events = alerts.evaluate(teams[0], now + timedelta(minutes=10))
    assert again.opened == 0 and events == [] and Alert.objects.count() == 1
    assert not Alert.objects.filter(endpoint=busy).exists()


def test_a_busy_cpu_without_invocations_is_not_idle(teams, owner):
    batch = factories.endpoint(owner, "batchy", hours=48, invocations=0, cpu_util_pct=60.0)
    factories.estimate()
    assert alerts.evaluate(teams[0], now_for(batch))[0].opened == 0


def test_missing_hours_are_not_taken_for_idleness(teams, owner):
    sparse = factories.endpoint(owner, "sparse", hours=20, invocations=0, cpu_util_pct=1.0)
    factories.estimate()
    assert alerts.evaluate(teams[0], now_for(sparse))[0].opened == 0  # 20 of the 24 hours: not enough
    NotificationSettings.objects.filter(team=teams[0]).update(idle_hours=18)
    assert alerts.evaluate(teams[0], now_for(sparse))[0].opened == 1


def test_exclusion_tags_keep_an_endpoint_quiet_and_resolve_its_alert(teams, owner):
    quiet = factories.endpoint(owner, "dev-box", hours=48, invocations=0, cpu_util_pct=1.0, tags={"env": "dev"})
    factories.estimate()
    now = now_for(quiet)
    assert alerts.evaluate(teams[0], now)[0].opened == 1
    NotificationSettings.objects.filter(team=teams[0]).update(exclude_tags=["env=dev"])
    outcome, events = alerts.evaluate(teams[0], now)
    assert outcome.resolved == 1 and Alert.objects.get().resolution == Alert.Resolution.EXCLUDED
    assert alerts.evaluate(teams[0], now)[0].opened == 0


def test_a_reminder_goes_out_after_the_configured_period_once(teams, owner):
    idle = factories.endpoint(owner, "idle", hours=48, invocations=0, cpu_util_pct=1.0)
    factories.estimate()
    now = now_for(idle)
    alerts.evaluate(teams[0], now)
    assert alerts.evaluate(teams[0], now + timedelta(hours=71))[0].reminded == 0
    # the window must still be idle three days later: shift the same quiet hours forward
    for hour in VariantHour.objects.filter(endpoint=idle):
        hour.hour += timedelta(hours=72)
        hour.save()
    later = now + timedelta(hours=72)
    outcome, events = alerts.evaluate(teams[0], later)
    assert outcome.reminded == 1 and events[0][1] == "reminder"
    assert alerts.evaluate(teams[0], later + timedelta(minutes=5))[0].reminded == 0


def test_traffic_returning_or_deletion_resolves_the_alert_once(teams, owner):
    first = factories.endpoint(owner, "comes-back", hours=48, invocations=0, cpu_util_pct=1.0)
    second = factories.endpoint(owner, "goes-away", hours=48, invocations=0, cpu_util_pct=1.0)
    factories.estimate()
    now = now_for(first)
    assert alerts.evaluate(teams[0], now)[0].opened == 2
    VariantHour.objects.filter(endpoint=first, hour__gte=now - timedelta(hours=3)).update(invocations=40)
    second.deleted_at = timezone.now()
    second.save()
    outcome, events = alerts.evaluate(teams[0], now)
    assert outcome.resolved == 2 and sorted(e[1] for e in events) == ["resolved", "resolved"]
    resolutions = dict(Alert.objects.values_list("endpoint__name", "resolution"))
    assert resolutions == {"comes-back": "traffic", "goes-away": "deleted"}
    assert alerts.evaluate(teams[0], now)[0].resolved == 0


def test_the_alert_message_says_what_and_links_to_the_endpoint(teams, owner):
    idle = factories.endpoint(
        owner, "<b>idle</b>", hours=48, invocations=0, cpu_util_pct=1.0, instance_type="ml.p3.2xlarge"
    )
    factories.estimate()
    alerts.evaluate(teams[0], now_for(idle))
    text = alerts.message(Alert.objects.get(), "opened", "https://wattson.example.com")
    assert text.event == "alert.opened" and "ml.p3.2xlarge" in text.subject and "48 h" in text.subject
    assert f"https://wattson.example.com/endpoints/{idle.pk}/" in text.text
    first = VariantHour.objects.filter(endpoint=idle).order_by("hour").first().hour
    # no inference in its whole collected history: it may have been idle before collection began, and it says so
    assert f"idle since at least {first:%Y-%m-%d %H:%M} UTC, when collection began" in text.text
    assert "for at least 2 days (48 h)" in text.subject
    assert text.payload["endpoint"] == "<b>idle</b>" and text.payload["evidence"]["co2e_kg"] > 0


def test_a_gap_in_collection_neither_resolves_nor_reopens(teams, owner):
    idle = factories.endpoint(owner, "idle", hours=48, invocations=0, cpu_util_pct=1.0)
    factories.estimate()
    now = now_for(idle)
    alerts.evaluate(teams[0], now)
    outcome, events = alerts.evaluate(teams[0], now + timedelta(hours=30))  # no hour collected since
    assert (outcome.resolved, outcome.opened, events) == (0, 0, [])
    assert Alert.objects.get().resolved_at is None
