"""Digests and alerts tell the truth about partial weeks and idleness (issue 16): a week collected on 4 of its 7
days is compared per collected day and says so; the digest lists every idle period that reached the alert
threshold during the week (corroborated or not, still idle or not); an open alert states the idle period's start
from the hourly history, corrected when hours collected late show an earlier one. At fixed times, on PostgreSQL,
with mail delivered to a real SMTP server on loopback."""

import datetime as dt
import email
import email.policy
import json

import pytest
from django.urls import reverse

from collectors.models import Endpoint, VariantConfig, VariantHour
from dashboard.footprint.units import kg
from dashboard.notify import alerts, digest, dispatch
from dashboard.notify.models import Alert, Channel, NotificationSettings
from tests.web import factories

pytestmark = pytest.mark.urls("tests.notify.digest_urls")

END = dt.datetime(2026, 11, 16, tzinfo=dt.UTC)  # a Monday: the digest's week is 9 to 15 November
WEEK_START = dt.date(2026, 11, 9)
H = dt.timedelta(hours=1)
D = dt.timedelta(days=1)


def endpoint(owner, name: str, first: dt.datetime, quiet=(), cpu_util_pct: float = 1.0, end=END) -> Endpoint:
    """An endpoint with one ml.g5.xlarge and an hour every hour from ``first`` to ``end``, serving inferences except
    in the ``quiet`` spans (``(from, until)``, ``until`` None: for good)."""
    row = Endpoint.objects.create(
        account=owner, region="us-east-1", name=name, status="InService", first_seen=first, last_seen=end
    )
    VariantConfig.objects.create(
        endpoint=row,
        variant_name="AllTraffic",
        valid_from=first,
        instance_type="ml.g5.xlarge",
        initial_instance_count=1,
        current_instance_count=1,
    )
    add_hours(row, first, end, quiet, cpu_util_pct)
    return row


def add_hours(row: Endpoint, first: dt.datetime, end: dt.datetime, quiet=(), cpu_util_pct: float = 1.0) -> None:
    def served(hour: dt.datetime) -> bool:
        return not any(start <= hour and (until is None or hour < until) for start, until in quiet)

    VariantHour.objects.bulk_create(
        VariantHour(
            endpoint=row,
            variant_name="AllTraffic",
            hour=first + n * H,
            instance_type="ml.g5.xlarge",
            instance_hours=1,
            cpu_util_pct=cpu_util_pct,
            gpu_util_pct=0.5,
            memory_util_pct=30.0,
            invocations=200.0 if served(first + n * H) else 0.0,
            collected_at=END,
        )
        for n in range(int((end - first) / H))
    )


def received(mailbox) -> email.message.EmailMessage:
    (envelope,) = mailbox.messages
    return email.message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.default)


def test_a_week_before_collected_on_4_of_its_7_days_is_compared_per_collected_day(teams, alice, smtp_server):
    """Collection began on the Thursday of the week before: its total is 4/7 of a full week's while the fleet's
    daily CO2e is flat. The change is per collected day (about 0 %, not +75 %) and both texts say so."""
    alice.email = "alice@example.com"
    alice.save(update_fields=["email"])
    NotificationSettings.objects.create(team=teams[0])
    owner = factories.account(teams[0], "111122223333", "prod")
    endpoint(owner, "ranker", END - 11 * D)  # from Thursday 5 November 00:00
    endpoint(owner, "tagger", END - 11 * D)
    factories.estimate()

    data = digest.content(teams[0], WEEK_START)

    this, previous = data["this"]["total_co2e_kg"], data["previous"]["total_co2e_kg"]
    assert this > 0 and this / previous == pytest.approx(7 / 4, rel=0.02), "the totals: 7 days against 4"
    per_day = 100 * (this / 7 - previous / 4) / (previous / 4)
    assert data["change"]["total_co2e_kg"] == pytest.approx(per_day) and abs(per_day) < 2
    assert data["change"]["energy_kwh"] == pytest.approx(0, abs=2)
    assert (data["coverage"]["previous"].collected_hours, data["coverage"]["this"].collected_hours) == (96, 168)
    assert data["coverage"]["previous"].text() == "4 of 7 days collected" and data["partial"]
    assert data["per_day"]["previous"]["total_co2e_kg"] == pytest.approx(previous / 4)
    assert data["per_day"]["this"]["total_co2e_kg"] == pytest.approx(this / 7)

    assert digest.send_one(teams[0], alice, WEEK_START)
    mail = received(smtp_server)
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert f"({data['change_text']['total_co2e_kg']} per collected day vs last week)" in mail["Subject"]
    assert "+75 %" not in mail["Subject"] + text + html
    assert "the week before 4 of 7 days collected" in text and "this week 7 of 7 days collected" in text
    assert "Changes compare the two weeks per collected day" in text
    assert 'data-coverage="previous">4 of 7 days collected<' in html and "per collected day" in html
    assert f'data-per-day="previous">{kg(previous / 4, 1)}<' in html
    assert f"CO2e per collected day  {kg(this / 7, 1)}" in text


def test_two_complete_weeks_are_not_called_partial(teams, alice):
    NotificationSettings.objects.create(team=teams[0])
    owner = factories.account(teams[0], "111122223333", "prod")
    endpoint(owner, "ranker", END - 14 * D)
    factories.estimate()
    data = digest.content(teams[0], WEEK_START)
    this, previous = data["this"]["total_co2e_kg"], data["previous"]["total_co2e_kg"]
    assert data["change"]["total_co2e_kg"] == pytest.approx(100 * (this - previous) / previous)
    assert not data["partial"] and "collected" not in digest.bodies(teams[0], alice, WEEK_START)["subject"]


@pytest.fixture
def idle_fleet(teams):
    """Three weeks of hours; the team alerts after 24 h without inference (the default)."""
    NotificationSettings.objects.create(team=teams[0])
    owner = factories.account(teams[0], "111122223333", "prod")
    first = END - 21 * D
    rows = {
        "busy": endpoint(owner, "busy", first),
        "idle-before": endpoint(owner, "idle-before", first, [(END - 12 * D, None)]),  # idle (24 h) from 5 Nov
        "at-the-start": endpoint(owner, "at-the-start", first, [(END - 8 * D, None)]),  # idle at 9 Nov 00:00 sharp
        "reached-inside": endpoint(owner, "reached-inside", first, [(END - 8 * D + H, None)]),  # 8 Nov 01:00
        "came-back": endpoint(owner, "came-back", first, [(END - 6 * D + 3 * H, END - 4 * D + 9 * H)]),
        "mid-week": endpoint(owner, "mid-week", first, [(END - 4.5 * D, None)]),  # Wed 11 Nov 12:00
        "batch": endpoint(owner, "batch", first, [(END - 4 * D, None)], cpu_util_pct=60.0),
        "late": endpoint(owner, "late", first, [(END - 4 * H, None)]),  # idle only next week
        "short-pause": endpoint(owner, "short-pause", first, [(END - 3 * D, END - 3 * D + 20 * H)]),
    }
    # idle since 1 November, and its hours from Saturday 7 November 23:00 (the start of what is read) were lost
    rows["gap"] = endpoint(owner, "gap", first, [(END - 15 * D, None)])
    VariantHour.objects.filter(endpoint=rows["gap"], hour__gte=END - 8 * D - H, hour__lt=END - 8 * D + 3 * H).delete()
    factories.estimate()
    return rows


def test_the_digest_lists_every_idle_period_that_reached_the_threshold_during_the_week(teams, alice, idle_fleet):
    data = digest.content(teams[0], WEEK_START)
    assert [row["name"] for row in data["newly_idle"]] == ["reached-inside", "came-back", "mid-week", "batch"]
    listed = {
        row["name"]: (row["idle_since"], row["idle_until"], row["idle_hours"], row["corroborated"])
        for row in data["newly_idle"]
    }
    assert listed == {
        # began before the week, reached 24 h inside it (at 01:00 on Monday)
        "reached-inside": (END - 8 * D + H, None, 8 * 24 - 1, True),
        # idle from Tuesday 03:00 until its traffic returned on Thursday 09:00: it went idle this week all the same
        "came-back": (END - 6 * D + 3 * H, END - 4 * D + 9 * H, 54, True),
        "mid-week": (END - 4.5 * D, None, 108, True),
        # no inference while the CPU works: idle by the definition, listed, and marked as not corroborated
        "batch": (END - 4 * D, None, 96, False),
    }

    # the week before lists what reached the threshold in it: idle-before, and at-the-start (at its last hour's end)
    before = {row["name"] for row in digest.content(teams[0], WEEK_START - dt.timedelta(days=7))["newly_idle"]}
    assert before == {"idle-before", "at-the-start"}

    text = digest.bodies(teams[0], alice, WEEK_START)["text"]
    assert (
        "came-back (us-east-1), idle since Tue 10 Nov 03:00 UTC until Thu 12 Nov 09:00 UTC: 2 days 6 h (54 h)" in text
    )
    assert (
        "mid-week (us-east-1), idle since Wed 11 Nov 12:00 UTC, still idle at the week's end: 4 days 12 h (108 h)"
        in (text)
    )
    assert "not corroborated: p95 CPU 60.0 %" in text and "No endpoint went idle this week" not in text


def test_an_open_alert_states_the_idle_period_from_the_hourly_history_even_when_collected_late(
    teams, alice, smtp_server, client, receiver, settings
):
    """Idle for 7 days, detection window 24 h. The first evaluation knows only the last day (the rest had not been
    collected): idle since a day ago. Once the earlier hours arrive, the open alert says since 7 days ago, 168 h,
    without waiting for a reminder, and so do its messages and the Alerts page."""
    NotificationSettings.objects.create(team=teams[0], idle_hours=24, reminder_hours=72)
    owner = factories.account(teams[0], "111122223333", "prod")
    quiet_from = END - 7 * D
    late = endpoint(owner, "late-collected", END - 1 * D, [(quiet_from, None)])
    known = endpoint(owner, "always-known", END - 14 * D, [(quiet_from, None)])
    factories.estimate()

    outcome, _ = alerts.evaluate(teams[0], END + dt.timedelta(minutes=5))
    assert outcome.opened == 2
    assert Alert.objects.get(endpoint=known).idle_since == quiet_from  # the whole history, not the window
    assert Alert.objects.get(endpoint=known).evidence["hours"] == 168
    first_known = Alert.objects.get(endpoint=late)
    assert first_known.idle_since == END - 1 * D  # all it could know then, and it says so
    assert (
        first_known.evidence["since_collection_began"]
        and not Alert.objects.get(endpoint=known).evidence["since_collection_began"]
    )
    said = alerts.message(first_known, "opened", "https://wattson.example.com")
    assert "for at least 24 h" in said.subject
    assert f"at least {END - 1 * D:%Y-%m-%d %H:%M} UTC, when collection began" in said.text

    add_hours(late, END - 14 * D, END - 1 * D, [(quiet_from, None)])  # the six days and more, collected late
    factories.estimate()
    outcome, events = alerts.evaluate(teams[0], END + dt.timedelta(minutes=15))
    assert (outcome.opened, outcome.reminded, events) == (0, 0, [])

    alert = Alert.objects.get(endpoint=late)
    assert alert.idle_since == quiet_from and alert.evidence["hours"] == 168
    assert alert.evidence["idle_since"] == quiet_from.isoformat()
    assert alert.evidence["instance_hours"] == pytest.approx(168) and not alert.evidence["since_collection_began"]

    channel = Channel.objects.create(team=teams[0], kind="email", name="on-call", target="oncall@example.com")
    dispatch.deliver(channel, alerts.message(alert, "reminder", "https://wattson.example.com"), "alert:test")
    mail = received(smtp_server)
    body = mail.get_body(("plain",)).get_content()
    assert "has served no inference for 7 days (168 h)" in mail["Subject"]
    assert f"idle since {quiet_from:%Y-%m-%d %H:%M} UTC; over those 7 days (168 h)" in body
    assert "24 h" not in mail["Subject"] + body and "at least" not in body

    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    for kind, path in (("slack", "/slack"), ("webhook", "/hook")):
        hook = Channel.objects.create(team=teams[0], kind=kind, name=kind, target=f"{receiver.url}{path}", secret="s")
        dispatch.deliver(hook, alerts.message(alert, "reminder", "https://wattson.example.com"), f"alert:{kind}")
    slack, webhook = json.loads(receiver.at("/slack")[0]["body"]), json.loads(receiver.at("/hook")[0]["body"])
    assert "for 7 days (168 h)" in slack["text"] and f"idle since {quiet_from:%Y-%m-%d %H:%M} UTC" in slack["text"]
    assert webhook["payload"]["idle_since"] == quiet_from.isoformat() and webhook["payload"]["evidence"]["hours"] == 168
    assert "for 7 days (168 h)" in webhook["subject"]

    client.force_login(alice)
    page = client.get(reverse("notifications")).content.decode()
    row = page[page.index("late-collected") :].split("</tr>")[0]
    assert f"{quiet_from:%Y-%m-%d %H:%M}" in row and '<td class="num" data-idle-hours="168">7 days (168 h)</td>' in row


def test_duration_text():
    assert [alerts.duration_text(h) for h in (5, 47, 48, 54, 168, 191)] == [
        "5 h",
        "47 h",
        "2 days (48 h)",
        "2 days 6 h (54 h)",
        "7 days (168 h)",
        "7 days 23 h (191 h)",
    ]
