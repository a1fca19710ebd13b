"""Notebook alerts (issue 19): a notebook instance or Studio app running out of hours without auto-stop opens one
alert, is reminded after the team's reminder period, resolves once (stopped, restarted, deleted, auto-stop,
excluded), and reaches a channel like any alert. Figures are checked against the hours' stored estimates."""

import datetime as dt
import hashlib
import hmac
import json

import pytest
from django.db.models import Sum
from django.utils import timezone

from collectors.models import Price, Workload, WorkloadHour, WorkloadStatusSpan
from dashboard.footprint.models import WorkloadHourEstimate
from dashboard.footprint.workload_estimates import estimate_pending
from dashboard.notify import alerts, notebook_alerts
from dashboard.notify.models import Alert, Channel, Delivery, NotificationSettings
from dashboard.notify.tasks import deliver_alert
from dashboard.recommend.models import TeamPolicy
from tests.web import factories

SITE = "https://wattson.example.com"
SECRET = "s3cret-key-for-tests"


@pytest.fixture
def owner(teams):
    return factories.account(teams[0], "111122223333", "prod")


def out_of_hours(hour: dt.datetime) -> bool:
    """Outside 08:00-19:00 UTC, Monday to Friday (the default policy), written out independently."""
    hour = hour.astimezone(dt.UTC)
    return hour.weekday() >= 5 or hour.hour < 8 or hour.hour >= 19


def notebook(owner, name="research-nb", hours=72, **fields):
    return factories.workload(owner, name, kind="notebook", instance_type="ml.g5.xlarge", hours=hours,
                              ended_hours_ago=None, cpu_util_pct=None, gpu_util_pct=None, **fields)  # fmt: skip


def now_for(workload) -> dt.datetime:
    last = WorkloadHour.objects.filter(workload=workload).order_by("-hour").first().hour
    return last + dt.timedelta(minutes=30)  # within the hour under way


def test_a_notebook_left_running_out_of_hours_opens_one_alert_with_its_figures(teams, owner):
    Price.objects.create(service="sagemaker-notebook", sku="ml.g5.xlarge", region="us-east-1", unit="hour",
                         usd="1.41", effective_date=timezone.now() - dt.timedelta(days=400), source_sku="NB",
                         collected_at=timezone.now())  # fmt: skip
    nb = notebook(owner)
    notebook(owner, "short-nb", hours=2)  # not long enough out of hours (whatever the time of day now: 2 < 12)
    estimate_pending()
    now = now_for(nb)
    outcome, events = notebook_alerts.evaluate(teams[0], now)
    assert outcome.opened == 1 and [e[1] for e in events] == ["opened"]
    alert = Alert.objects.get()
    assert alert.workload == nb and alert.endpoint is None and alert.kind == "notebook-idle"
    hours = list(WorkloadHour.objects.filter(workload=nb).order_by("hour").values_list("hour", flat=True))
    assert alert.idle_since == hours[0]
    assert alert.evidence["out_of_hours"] == sum(out_of_hours(h) for h in hours)
    assert alert.evidence["hours"] == len(hours)
    sums = WorkloadHourEstimate.objects.filter(workload_hour__workload=nb).aggregate(
        kwh=Sum("energy_kwh"), co2e=Sum("co2e_kg"), embodied=Sum("embodied_co2e_kg")
    )
    assert alert.evidence["energy_kwh"] == pytest.approx(sums["kwh"], rel=1e-5)
    assert alert.evidence["co2e_kg"] == pytest.approx(sums["co2e"] + sums["embodied"], rel=1e-5)
    assert alert.evidence["cost_usd"] == pytest.approx(1.41 * len(hours), rel=1e-5)
    again, events = notebook_alerts.evaluate(teams[0], now + dt.timedelta(minutes=10))
    assert again.opened == 0 and events == [] and Alert.objects.count() == 1

    text = alerts.message(alert, "opened", SITE)
    assert "research-nb" in text.subject and "ml.g5.xlarge" in text.subject and "3 days (72 h)" in text.subject
    assert f"{alert.evidence['co2e_kg']:.3f} kg CO2e" in text.text and f"${1.41 * 72:,.2f}" in text.text
    assert f"{SITE}/notebooks/" in text.text
    assert text.payload["workload"] == "research-nb" and text.payload["instance_type"] == "ml.g5.xlarge"


def test_the_threshold_the_working_time_auto_stop_and_exclusion_tags_keep_it_quiet(teams, owner):
    notebook(owner, "stops-itself", auto_stop=True)
    notebook(owner, "dev-box", tags={"env": "dev"})
    nb = notebook(owner, "research-nb")
    estimate_pending()
    NotificationSettings.objects.create(team=teams[0], exclude_tags=["env=dev"], notebook_idle_hours=1000)
    assert notebook_alerts.evaluate(teams[0], now_for(nb))[0].opened == 0  # 72 hours: under 1,000 out of hours
    NotificationSettings.objects.filter(team=teams[0]).update(notebook_idle_hours=12)
    TeamPolicy.objects.create(team=teams[0], working_hours="00-24", working_days="mon-sun")
    assert notebook_alerts.evaluate(teams[0], now_for(nb))[0].opened == 0  # always working time
    TeamPolicy.objects.filter(team=teams[0]).update(working_hours="08-19", working_days="mon-fri")
    outcome, _ = notebook_alerts.evaluate(teams[0], now_for(nb))
    assert outcome.opened == 1 and Alert.objects.get().workload == nb


def test_a_reminder_goes_out_after_the_reminder_period_once(teams, owner):
    nb = notebook(owner)
    estimate_pending()
    now = now_for(nb)
    notebook_alerts.evaluate(teams[0], now)
    assert notebook_alerts.evaluate(teams[0], now + dt.timedelta(hours=71))[0].reminded == 0
    # still running three days later: an open in-service span from the first hour on
    first = WorkloadHour.objects.filter(workload=nb).order_by("hour").first().hour
    WorkloadStatusSpan.objects.create(workload=nb, status="InService", valid_from=first, origin="observed")
    later = now + dt.timedelta(hours=72)
    outcome, events = notebook_alerts.evaluate(teams[0], later)
    assert outcome.reminded == 1 and events == [(Alert.objects.get().pk, "reminder")]
    alert = Alert.objects.get()
    # the span, from the first hour to the end of the hour under way three days later: 72 + 72 hours
    assert alert.reminders == 1 and alert.evidence["hours"] == 144
    assert notebook_alerts.evaluate(teams[0], later + dt.timedelta(minutes=5))[0].reminded == 0
    assert "Still running" in alerts.message(alert, "reminder", SITE).subject


@pytest.mark.parametrize(
    ("change", "resolution"),
    [
        ({"status": "Stopped"}, Alert.Resolution.STOPPED),
        ({"deleted_at": dt.datetime(2026, 1, 1, tzinfo=dt.UTC)}, Alert.Resolution.DELETED),
        ({"auto_stop": True, "lifecycle_config_name": "autostop"}, Alert.Resolution.AUTO_STOP),
        ({"tags": {"alerts": "off"}}, Alert.Resolution.EXCLUDED),
    ],
)
def test_the_alert_resolves_once(teams, owner, change, resolution):
    nb = notebook(owner)
    estimate_pending()
    NotificationSettings.objects.create(team=teams[0], exclude_tags=["alerts"])
    now = now_for(nb)
    assert notebook_alerts.evaluate(teams[0], now)[0].opened == 1
    Workload.objects.filter(pk=nb.pk).update(**change)
    outcome, events = notebook_alerts.evaluate(teams[0], now + dt.timedelta(hours=1))
    alert = Alert.objects.get()
    assert outcome.resolved == 1 and events == [(alert.pk, "resolved")] and alert.resolution == resolution
    assert notebook_alerts.evaluate(teams[0], now + dt.timedelta(hours=2)) == (notebook_alerts.NotebookOutcome(), [])
    assert alerts.message(alert, "resolved", SITE).subject.startswith("Resolved: Notebook instance research-nb")


def test_a_restart_ends_the_incident(teams, owner):
    nb = notebook(owner)
    estimate_pending()
    now = now_for(nb)
    notebook_alerts.evaluate(teams[0], now)
    WorkloadStatusSpan.objects.create(workload=nb, status="InService", valid_from=now, origin="cloudtrail")
    outcome, _ = notebook_alerts.evaluate(teams[0], now + dt.timedelta(hours=1))
    assert outcome.resolved == 1 and Alert.objects.get().resolution == Alert.Resolution.STOPPED


def test_endpoint_alerts_ignore_notebook_alerts(teams, owner):
    nb = notebook(owner)
    estimate_pending()
    notebook_alerts.evaluate(teams[0], now_for(nb))
    assert alerts.evaluate(teams[0], now_for(nb))[0] == alerts.Outcome()
    assert Alert.objects.get().resolved_at is None


def test_the_alert_reaches_a_signed_webhook(teams, owner, receiver, settings):
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    settings.SITE_URL = SITE
    channel = Channel.objects.create(
        team=teams[0], kind=Channel.Kind.WEBHOOK, name="hooks", target=f"{receiver.url}/hook", secret=SECRET
    )
    nb = notebook(owner)
    estimate_pending()
    _, [(alert_id, event)] = notebook_alerts.evaluate(teams[0], now_for(nb))
    assert deliver_alert.apply(args=(channel.pk, alert_id, event)).get() == "sent"
    [hit] = receiver.at("/hook")
    body = json.loads(hit["body"])
    assert body["payload"]["workload"] == "research-nb" and body["payload"]["kind"] == "notebook-idle"
    assert "ml.g5.xlarge" in body["subject"] and body["event"] == "alert.opened"
    signed = hit["headers"]["X-Wattson-Timestamp"].encode() + b"." + hit["body"]
    expected = hmac.new(SECRET.encode(), signed, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(hit["headers"]["X-Wattson-Signature"], f"sha256={expected}")
    assert Delivery.objects.get(channel=channel).what == f"alert:{alert_id}:opened"


def test_the_alerts_page_lists_a_notebook_alert_beside_endpoint_alerts(client, alice, teams, owner):
    from django.urls import reverse

    nb = notebook(owner, "<b>nb</b>")
    estimate_pending()
    notebook_alerts.evaluate(teams[0], now_for(nb))
    client.force_login(alice)
    page = client.get(reverse("notifications")).content.decode()
    alert = Alert.objects.get()
    assert 'data-alert-kind="notebook-idle"' in page and "&lt;b&gt;nb&lt;/b&gt;" in page and "<b>nb</b>" not in page
    assert f'href="{reverse("notebooks")}"' in page and f"{alert.evidence['out_of_hours']} h out of hours" in page
    Workload.objects.filter(pk=nb.pk).update(status="Stopped")
    notebook_alerts.evaluate(teams[0], now_for(nb))
    page = client.get(reverse("notifications")).content.decode()
    assert "&lt;b&gt;nb&lt;/b&gt;: Stopped" in page
