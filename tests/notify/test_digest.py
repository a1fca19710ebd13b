"""The weekly digest: when it is due, what it says, the message a real SMTP server receives, the one-click
unsubscribe link, sending once under concurrency and retries, and the preview page."""

import datetime as dt
import email
import email.policy
import io
import socket
import threading
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from django.core import signing
from django.db import connection
from django.db.models import F, Sum
from django.test import Client
from django.utils import timezone
from PIL import Image

from collectors.models import VariantHour
from dashboard.footprint import rollups
from dashboard.footprint.models import VariantHourEstimate
from dashboard.notify import digest, digest_chart
from dashboard.notify.models import Delivery, DigestClaim, DigestSubscription, NotificationSettings
from dashboard.recommend import engine
from dashboard.recommend.models import Recommendation
from tests.web import factories

pytestmark = pytest.mark.urls("tests.notify.digest_urls")

PARIS = ZoneInfo("Europe/Paris")
SITE = "https://wattson.example.com"
HOSTILE = "<script>alert('x')</script>"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Inbox:
    """An aiosmtpd handler keeping every message it accepts, parsed."""

    def __init__(self):
        self.raw: list[bytes] = []
        self.recipients: list[list[str]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.raw.append(envelope.original_content or envelope.content)
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 Message accepted"

    @property
    def messages(self):
        return [email.message_from_bytes(raw, policy=email.policy.default) for raw in self.raw]

    def to(self, address: str):
        return [m for m, rcpt in zip(self.messages, self.recipients, strict=True) if address in rcpt]


@pytest.fixture(autouse=True)
def site(settings):
    settings.SITE_URL = SITE


@pytest.fixture
def smtp(settings):
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5
    settings.DEFAULT_FROM_EMAIL = "wattson@example.com"
    inbox.port = controller.port
    yield inbox
    controller.stop()


def with_email(user, address: str):
    user.email = address
    user.save(update_fields=["email"])
    return user


@pytest.fixture
def members(teams, alice, bob, charlie):
    return (
        with_email(alice, "alice@example.com"),
        with_email(bob, "bob@example.com"),
        with_email(charlie, "charlie@example.com"),
    )


def this_monday_at(hour: int, tz=PARIS) -> dt.datetime:
    """The digest time of the current local week (it may be a little ahead of the real clock on a Monday)."""
    local = timezone.now().astimezone(tz)
    monday = local.date() - dt.timedelta(days=local.weekday())
    return dt.datetime.combine(monday, dt.time(hour), tzinfo=tz)


@pytest.fixture
def schedule(teams):
    return NotificationSettings.objects.create(team=teams[0], digest_weekday=0, digest_hour=8, timezone="Europe/Paris")


@pytest.fixture
def fleet(teams, members, schedule):
    """Fifteen days of hours for three endpoints of the team (one oversized: a recommendation; one named by an
    attacker) and one of another team's; one of the team's went idle last week."""
    prod = factories.account(teams[0], "111122223333", "prod")
    other = factories.account(teams[1], "777788889999", "outsiders")
    hours = 15 * 24
    rows = {
        "ranker": factories.endpoint(
            prod, "ranker", instance_type="ml.g5.2xlarge", count=2, gpu_util_pct=40, hours=hours
        ),
        "oversized": factories.endpoint(
            prod,
            "oversized",
            instance_type="ml.m5.4xlarge",
            count=2,
            hours=hours,
            cpu_util_pct=2.0,
            memory_util_pct=5.0,
        ),
        "hostile": factories.endpoint(prod, HOSTILE, instance_type="ml.c5.xlarge", hours=hours),
        "theirs": factories.endpoint(other, "secret-endpoint", instance_type="ml.g5.48xlarge", hours=hours),
    }
    week_start = digest.week_of(this_monday_at(8), PARIS)
    # "oversized" served its last inference on the week's Tuesday at 08:00 UTC and has been idle since; "ranker"
    # paused for a few hours that same week (not idle: shorter than the team's 24 h)
    since = dt.datetime.combine(week_start + dt.timedelta(days=1), dt.time(9), dt.UTC)
    VariantHour.objects.filter(endpoint=rows["oversized"], hour__gte=since).update(invocations=0)
    VariantHour.objects.filter(endpoint=rows["ranker"], hour__gte=since, hour__lt=since + dt.timedelta(hours=5)).update(
        invocations=0
    )
    rows["oversized_idle_since"] = since
    factories.estimate()
    engine.recompute(teams[0])
    NotificationSettings.objects.create(team=teams[1], digest_weekday=3, digest_hour=8)  # Thursdays
    return rows


def week_totals(team, week_start: dt.date) -> dict:
    start = dt.datetime.combine(week_start, dt.time(), dt.UTC)
    estimates = VariantHourEstimate.objects.filter(
        variant_hour__endpoint__account__team=team,
        variant_hour__hour__gte=start,
        variant_hour__hour__lt=start + dt.timedelta(days=7),
    )
    return estimates.aggregate(
        energy_kwh=Sum("energy_kwh"),
        co2e_kg=Sum("co2e_kg"),
        low=Sum("co2e_kg_low"),
        high=Sum("co2e_kg_high"),
        embodied=Sum("embodied_co2e_kg"),
    )


def collected_hours(team, week_start: dt.date) -> int:
    start = dt.datetime.combine(week_start, dt.time(), dt.UTC)
    hours = VariantHour.objects.filter(
        endpoint__account__team=team, hour__gte=start, hour__lt=start + dt.timedelta(days=7)
    )
    return len(set(hours.values_list("hour", flat=True)))


def parts(message) -> dict[str, list]:
    found: dict[str, list] = {}
    for part in message.walk():
        found.setdefault(part.get_content_type(), []).append(part)
    return found


# --- when ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("utc", "expected"),
    [
        ("2025-01-06T06:59", False),  # Monday 07:59 in Paris (winter, UTC+1)
        ("2025-01-06T07:00", True),  # Monday 08:00 in Paris
        ("2025-01-05T23:30", False),  # Monday 00:30 in Paris: a new local week, its hour not come yet
        ("2025-01-05T22:30", True),  # Sunday 23:30 in Paris: still the previous week, long due
        ("2025-01-08T12:00", True),  # Wednesday: still due (a claim makes it go out once)
        ("2025-07-07T05:59", False),  # Monday 07:59 in Paris (summer, UTC+2)
        ("2025-07-07T06:00", True),
    ],
)
def test_due_follows_the_teams_local_weekday_and_hour(utc, expected):
    settings = NotificationSettings(digest_weekday=0, digest_hour=8, timezone="Europe/Paris")
    assert digest.due(settings, dt.datetime.fromisoformat(utc).replace(tzinfo=dt.UTC)) is expected


def test_due_on_another_weekday_and_timezone():
    friday_5pm_new_york = NotificationSettings(digest_weekday=4, digest_hour=17, timezone="America/New_York")
    thursday = dt.datetime(2025, 3, 6, 23, 0, tzinfo=dt.UTC)
    friday_before, friday_after = (
        dt.datetime(2025, 3, 7, 21, 59, tzinfo=dt.UTC),
        dt.datetime(2025, 3, 7, 22, 0, tzinfo=dt.UTC),
    )
    assert [digest.due(friday_5pm_new_york, t) for t in (thursday, friday_before, friday_after)] == [False, False, True]
    unknown = NotificationSettings(digest_weekday=0, digest_hour=8, timezone="Mars/Olympus_Mons")
    assert digest.due(unknown, dt.datetime(2025, 1, 6, 8, 0, tzinfo=dt.UTC))  # falls back to UTC
    assert not digest.due(unknown, dt.datetime(2025, 1, 6, 7, 59, tzinfo=dt.UTC))


def test_week_of_is_the_previous_complete_local_week():
    assert digest.week_of(dt.datetime(2025, 1, 6, 7, 0, tzinfo=dt.UTC), "Europe/Paris") == dt.date(2024, 12, 30)
    # Sunday 23:30 UTC is already Monday in Paris, still Sunday in UTC
    assert digest.week_of(dt.datetime(2025, 1, 12, 23, 30, tzinfo=dt.UTC), "Europe/Paris") == dt.date(2025, 1, 6)
    assert digest.week_of(dt.datetime(2025, 1, 12, 23, 30, tzinfo=dt.UTC), "UTC") == dt.date(2024, 12, 30)


def test_the_chart_is_a_png_with_a_bar_per_day():
    png = digest_chart.daily_bars([("Mon 01", 3.0), ("Tue 02", 0.0), ("Wed 03", 12.5)], "CO2e per day")
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.size == (digest_chart.WIDTH * 2, digest_chart.HEIGHT * 2)
    assert len(image.getcolors(maxcolors=1 << 16)) > 2  # not blank: bars, text and axis


# --- what -------------------------------------------------------------------------------------------


def test_the_digests_numbers_are_the_sums_of_the_weeks_estimates(teams, members, fleet):
    week_start = digest.week_of(this_monday_at(8), PARIS)
    data = digest.content(teams[0], week_start)
    this, before = week_totals(teams[0], week_start), week_totals(teams[0], week_start - dt.timedelta(days=7))
    assert data["this"]["energy_kwh"] == pytest.approx(this["energy_kwh"])
    assert data["this"]["co2e_kg"] == pytest.approx(this["co2e_kg"])
    assert (data["this"]["co2e_kg_low"], data["this"]["co2e_kg_high"]) == pytest.approx((this["low"], this["high"]))
    assert data["this"]["embodied_co2e_kg"] == pytest.approx(this["embodied"])
    assert data["previous"]["energy_kwh"] == pytest.approx(before["energy_kwh"])
    total, total_before = this["co2e_kg"] + this["embodied"], before["co2e_kg"] + before["embodied"]
    # compared per collected hour (day): the fleet's 15 days leave the week before partly uncollected
    hours, hours_before = collected_hours(teams[0], week_start), collected_hours(teams[0], week_start - dt.timedelta(7))
    assert hours_before < hours and data["partial"]
    rate, rate_before = total / hours, total_before / hours_before
    assert data["change"]["total_co2e_kg"] == pytest.approx(100 * (rate - rate_before) / rate_before)
    assert sum(day["total_co2e_kg"] for day in data["daily"]) == pytest.approx(total)
    assert [day["day"] for day in data["daily"]] == [week_start + dt.timedelta(days=n) for n in range(7)]
    assert data["this"]["cost_usd"] > 0 and 0 < data["this"]["priced_pct"] <= 100

    names = [row["name"] for row in data["top_emitters"]]
    assert set(names) == {"ranker", "oversized", HOSTILE} and "secret-endpoint" not in names
    assert data["top_emitters"][0]["url"] == f"{SITE}/endpoints/{fleet['ranker'].pk}/"
    # from the hourly history, with the idle period's true start, whether or not an alert was opened
    assert [(row["name"], row["idle_since"]) for row in data["newly_idle"]] == [
        ("oversized", fleet["oversized_idle_since"])
    ]
    recs = Recommendation.objects.filter(team=teams[0], status="open").order_by("-monthly_co2e_kg_saved")[:5]
    expected = [f"{SITE}/recommendations/?rec={r.pk}#rec-{r.pk}" for r in recs]  # the page of the list holding it
    assert [r["url"] for r in data["recommendations"]] == expected
    assert data["recommendations"], "the oversized endpoint has a recommendation"
    assert data["links"]["overview"] == (
        f"{SITE}/?period=custom&grain=day&from={week_start}&to={week_start + dt.timedelta(days=6)}"
    )

    bodies = digest.bodies(teams[0], members[0], week_start)
    assert f"{total:,.1f} kg" in bodies["subject"] and bodies["subject"].endswith(" · ML Platform")
    assert f"{this['energy_kwh']:,.1f} kWh" in bodies["text"] and f"{this['energy_kwh']:,.1f} kWh" in bodies["html"]


def test_the_digest_shows_market_based_co2e_beside_the_operational_figure_and_a_dash_while_unknown(
    teams, members, fleet
):
    week_start = digest.week_of(this_monday_at(8), PARIS)
    # market-based factors are 0 where AWS matches all of a region's energy: a figure that differs from the total
    VariantHourEstimate.objects.update(co2e_market_kg=F("co2e_kg") * 0.5)
    rollups.rebuild()
    this = week_totals(teams[0], week_start)
    data = digest.content(teams[0], week_start)
    assert data["this"]["co2e_market_kg"] == pytest.approx(this["co2e_kg"] * 0.5)
    bodies = digest.bodies(teams[0], members[0], week_start)
    figure = f"{this['co2e_kg'] * 0.5:,.1f} kg"
    assert f"market-based        {figure}" in bodies["text"]
    assert f'data-figure="co2e_market_kg">{figure}</span>' in bodies["html"]
    # one hour of the week estimated before market-based CO2e existed: a dash, not a low figure
    start = dt.datetime.combine(week_start, dt.time(12), dt.UTC)
    hour = VariantHour.objects.filter(endpoint__account__team=teams[0], hour__gte=start).order_by("hour").first()
    VariantHourEstimate.objects.filter(variant_hour=hour).update(co2e_market_kg=None)
    rollups.refresh(rollups.cells_of([{"endpoint_id": hour.endpoint_id, "hour": hour.hour}]))
    assert digest.content(teams[0], week_start)["this"]["co2e_market_kg"] is None
    bodies = digest.bodies(teams[0], members[0], week_start)
    assert "market-based        —" in bodies["text"]
    assert 'data-figure="co2e_market_kg">—</span>' in bodies["html"]


def test_the_html_escapes_aws_names(teams, fleet, alice):
    html = digest.bodies(teams[0], alice, digest.week_of(this_monday_at(8), PARIS))["html"]
    assert "<script>" not in html and "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html


def test_recipients_are_members_with_an_address_who_did_not_unsubscribe(teams, members, django_user_model):
    alice, bob, charlie = members
    no_address = django_user_model.objects.create_user("dora")
    teams[0].memberships.create(user=no_address)
    gone = django_user_model.objects.create_user("eve", email="eve@example.com", is_active=False)
    teams[0].memberships.create(user=gone)
    DigestSubscription.objects.create(team=teams[0], user=bob, subscribed=False)
    DigestSubscription.objects.create(team=teams[1], user=alice, subscribed=False)  # another team's choice
    assert list(digest.recipients(teams[0])) == [alice]
    assert list(digest.recipients(teams[1])) == [charlie]


# --- the message, end to end ------------------------------------------------------------------------


def test_the_weekly_digest_goes_out_once_and_unsubscribes_in_one_click(teams, fleet, smtp):
    now = this_monday_at(8).astimezone(dt.UTC)
    assert digest.send_due(now - dt.timedelta(minutes=1)) == 0, "not due before 08:00 in Paris"
    assert digest.send_due(now) == 2  # alice and bob; charlie's team gets its digest on Thursdays
    assert sorted(sum(smtp.recipients, [])) == ["alice@example.com", "bob@example.com"]
    assert digest.send_due(now + dt.timedelta(hours=3)) == 0, "the week's digest went out already"

    message = smtp.to("alice@example.com")[0]
    week_start = digest.week_of(now, PARIS)
    subject = message["Subject"].strip()  # the encoded header is folded right after "Subject:"
    assert subject.startswith("Wattson weekly: ") and subject.endswith(" · ML Platform")
    assert message["From"] == "wattson@example.com" and message["Auto-Submitted"] == "auto-generated"
    assert message.get_content_type() == "multipart/related"
    found = parts(message)
    text = found["text/plain"][0].get_content()
    html = found["text/html"][0].get_content()
    image = found["image/png"][0]
    assert image["Content-ID"] == f"<{digest.CHART_CID}>" and image.get_content_disposition() == "inline"
    assert f'src="cid:{digest.CHART_CID}"' in html
    assert Image.open(io.BytesIO(image.get_content())).format == "PNG"

    unsubscribe = message["List-Unsubscribe"].strip()  # folded after the colon: the URL is longer than a line
    assert unsubscribe.startswith(f"<{SITE}/digests/unsubscribe/") and unsubscribe.endswith("/>")
    link = unsubscribe[1:-1]
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    raw = smtp.raw[smtp.recipients.index(["alice@example.com"])].decode()
    assert f"List-Unsubscribe: \r\n {unsubscribe}\r\n" in raw or f"List-Unsubscribe: {unsubscribe}\r\n" in raw
    assert link in text and link in html
    assert f"{SITE}/endpoints/{fleet['ranker'].pk}/" in html and "secret-endpoint" not in text + html

    claim = DigestClaim.objects.get(team=teams[0], user__username="alice", week_start=week_start)
    assert claim.status == DigestClaim.Status.SENT and claim.attempts == 1 and claim.sent_at
    assert Delivery.objects.get(what=f"digest:{week_start}:alice").status == Delivery.Status.SENT

    # RFC 8058: the mail client POSTs to the link, without a session or a CSRF token
    response = Client(enforce_csrf_checks=True).post(
        urlsplit(link).path, data="List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200 and b"Unsubscribed" in response.content
    assert not DigestSubscription.objects.get(team=teams[0], user__username="alice").subscribed

    smtp.raw.clear(), smtp.recipients.clear()
    assert digest.send_due(now + dt.timedelta(days=7)) == 1
    assert smtp.recipients == [["bob@example.com"]]


def test_the_unsubscribe_link_asks_for_confirmation_on_get(teams, members, client):
    alice = members[0]
    path = urlsplit(digest.unsubscribe_url(teams[0], alice)).path
    response = client.get(path)  # not logged in
    assert response.status_code == 200 and b'id="confirm-unsubscribe"' in response.content
    assert not DigestSubscription.objects.exists(), "a GET (a link scanner) changes nothing"


@pytest.mark.parametrize(
    "token", ["garbage", signing.dumps({"u": 1, "t": 1}, salt="another.salt"), signing.dumps([1, 2], salt=digest.SALT)]
)
def test_a_bad_unsubscribe_token_is_a_400(db, client, token):
    for method in (client.get, client.post):
        response = method(f"/digests/unsubscribe/{token}/")
        assert response.status_code == 400 and b"Invalid link" in response.content
    assert not DigestSubscription.objects.exists()


# --- sending once -----------------------------------------------------------------------------------


def test_two_concurrent_sends_of_the_same_digest_send_one_mail(transactional_db, teams, members, smtp):
    alice = members[0]
    week_start = dt.date(2025, 1, 6)
    barrier, results, errors = threading.Barrier(2), [], []

    def worker(owner: str):
        try:
            barrier.wait(timeout=10)
            results.append(digest.send_one(teams[0], alice, week_start, owner))
        except Exception as exc:  # surfaced by the assertions below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(f"worker-{n}",)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors and sorted(results) == [False, True]
    assert len(smtp.raw) == 1
    claim = DigestClaim.objects.get(team=teams[0], user=alice, week_start=week_start)
    assert claim.status == DigestClaim.Status.SENT and claim.attempts == 1 and claim.claimed_by.startswith("worker-")


def test_a_send_retried_after_an_smtp_failure_goes_out_once(teams, members, smtp, settings):
    alice = members[0]
    week_start = dt.date(2025, 1, 6)
    settings.EMAIL_PORT = free_port()  # nothing listens there
    with pytest.raises(OSError):
        digest.send_one(teams[0], alice, week_start, "first")
    claim = DigestClaim.objects.get(team=teams[0], user=alice, week_start=week_start)
    assert claim.status == DigestClaim.Status.FAILED and claim.attempts == 1 and claim.last_error
    assert Delivery.objects.get(what=f"digest:{week_start}:alice").status == Delivery.Status.FAILED

    settings.EMAIL_PORT = smtp.port
    assert digest.send_one(teams[0], alice, week_start, "retry") is True
    assert digest.send_one(teams[0], alice, week_start, "retry-again") is False
    claim.refresh_from_db()
    assert claim.status == DigestClaim.Status.SENT and claim.attempts == 2 and claim.last_error == ""
    assert len(smtp.raw) == 1
    assert sorted(Delivery.objects.values_list("status", flat=True)) == ["failed", "sent"]


def test_send_due_keeps_going_past_a_failure_and_retries_it_on_the_next_run(teams, members, schedule, smtp, settings):
    factories.account(teams[0], "111122223333", "prod")
    now = this_monday_at(8).astimezone(dt.UTC)
    settings.EMAIL_PORT = free_port()
    assert digest.send_due(now) == 0
    assert set(DigestClaim.objects.values_list("status", flat=True)) == {DigestClaim.Status.FAILED}
    settings.EMAIL_PORT = smtp.port
    assert digest.send_due(now + dt.timedelta(minutes=15)) == 2
    assert digest.send_due(now + dt.timedelta(minutes=30)) == 0
    assert len(smtp.raw) == 2


def test_a_lost_claim_is_taken_over_after_fifteen_minutes_and_a_fresh_one_is_not(teams, members):
    alice, week_start = members[0], dt.date(2025, 1, 6)
    assert digest.claim(teams[0], alice, week_start, "first") is not None
    assert digest.claim(teams[0], alice, week_start, "second") is None
    DigestClaim.objects.update(claimed_at=timezone.now() - dt.timedelta(minutes=16))
    taken = digest.claim(teams[0], alice, week_start, "second")
    assert taken is not None and taken.claimed_by == "second" and taken.attempts == 2
    DigestClaim.objects.update(status=DigestClaim.Status.FAILED, attempts=digest.MAX_ATTEMPTS)
    assert digest.claim(teams[0], alice, week_start, "third") is None, "given up after MAX_ATTEMPTS"


# --- the preview page -------------------------------------------------------------------------------


def test_the_preview_shows_the_digest_and_toggles_the_subscription(teams, fleet, client, smtp):
    alice = teams[0].members.get(username="alice")
    client.force_login(alice)
    response = client.get("/digests/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "srcdoc=" in page and "data:image/png;base64," in page and "<pre" in page
    assert "<script>alert" not in page
    assert 'id="toggle-subscription">Unsubscribe<' in page

    client.post("/digests/subscription/", {"subscribed": "0"})
    assert not DigestSubscription.objects.get(team=teams[0], user=alice).subscribed
    assert 'id="toggle-subscription">Subscribe<' in client.get("/digests/").content.decode()
    client.post("/digests/subscription/", {"subscribed": "1"})
    assert DigestSubscription.objects.get(team=teams[0], user=alice).subscribed


def test_send_me_this_digest_now_bypasses_the_weekly_claim(teams, fleet, client, smtp):
    alice = teams[0].members.get(username="alice")
    client.force_login(alice)
    response = client.post("/digests/", follow=True)
    assert response.status_code == 200 and b"Sent the digest" in response.content
    assert smtp.recipients == [["alice@example.com"]]
    assert not DigestClaim.objects.exists()
    week_start = digest.week_of(timezone.now(), PARIS)
    assert Delivery.objects.get(what=f"digest-now:{week_start}:alice").status == Delivery.Status.SENT


def test_the_preview_needs_a_login(db, client):
    response = client.get("/digests/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_digest_gives_awss_official_figure_for_last_month_beside_ours_once_published(teams, members, fleet):
    week_start = digest.week_of(this_monday_at(8), PARIS)
    assert digest.content(teams[0], week_start)["aws_month"] is None  # AWS has not published the month yet
    assert "AWS's official figure" not in digest.bodies(teams[0], members[0], week_start)["text"]

    prod = fleet["ranker"].account
    factories.endpoint(prod, "long-runner", instance_type="ml.m5.xlarge", hours=24 * 75)  # through last month
    factories.estimate()
    week_end = week_start + dt.timedelta(days=6)
    month = (week_end.replace(day=1) - dt.timedelta(days=1)).replace(day=1)  # the last complete month
    factories.aws_carbon(prod, month, 40.0, version="v1", seen=timezone.now() - dt.timedelta(days=9))
    factories.aws_carbon(prod, month, 44.0, version="v2")  # revised: the latest version counts
    factories.aws_carbon(prod, month, 6.0, region="eu-west-1")
    factories.aws_carbon(fleet["theirs"].account, month, 999.0)  # another team's

    line = digest.content(teams[0], week_start)["aws_month"]
    start = dt.datetime.combine(month, dt.time(), dt.UTC)
    stop = dt.datetime.combine(week_end.replace(day=1), dt.time(), dt.UTC)
    ours = VariantHourEstimate.objects.filter(
        variant_hour__endpoint__account=prod, variant_hour__hour__gte=start, variant_hour__hour__lt=stop
    ).aggregate(total=Sum(F("co2e_kg") + F("embodied_co2e_kg")))["total"]
    assert line["month"] == month and line["revised"]
    assert line["aws_location_based_co2e_kg"] == pytest.approx(44.0 + 6.0)
    assert ours > 0 and line["ours_co2e_kg"] == pytest.approx(ours)
    assert 0 < line["coverage_pct"] <= 100
    bodies = digest.bodies(teams[0], members[0], week_start)
    assert f"AWS's official figure for {month:%B %Y}: 50.0 kg (ours: {ours:,.1f} kg" in bodies["text"]
    assert 'data-figure="aws_location_based_co2e_kg">50.0 kg<' in bodies["html"]
    assert f"{SITE}/reconciliation/" in bodies["text"]
