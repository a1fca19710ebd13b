"""Storage's footprint has one definition (``dashboard.footprint.storage``): the lifecycle split's storage stage is
each day's snapshots (carried forward where a day has none) at the storage page's per-month estimate, times the
day's hours in the period / 730. Expected figures are recomputed here from the snapshots made, with the estimator
called directly for each day's hours and the shipped price table (no collected price in these tests)."""

import datetime as dt
import math

import pandas as pd
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from collectors.models import AwsAccount, Endpoint, LogGroupSnapshot, StorageLensDay
from dashboard.footprint import price_book, queries
from dashboard.footprint import storage as stored
from dashboard.footprint import workload_queries as wq
from estimator import estimate_storage
from estimator.prices import storage_usd_per_gb_month

GIB = 2**30


def today() -> dt.date:
    return timezone.now().date()


def midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), dt.UTC)


def account(team, account_id: str, name: str) -> AwsAccount:
    return AwsAccount.objects.create(team=team, account_id=account_id, name=name, regions=["us-east-1", "eu-west-1"])


def log_group(acct, name, stored_bytes, day, region="us-east-1", cls="STANDARD", retention=30):
    return LogGroupSnapshot.objects.create(
        account=acct, region=region, name=name, day=day, stored_bytes=stored_bytes, retention_days=retention,
        log_group_class=cls, collected_at=timezone.now(),
    )  # fmt: skip


def lens(acct, bucket, prefix, stored_bytes, day, storage_class="STANDARD", region="us-east-1"):
    return StorageLensDay.objects.create(
        account=acct, day=day, region=region, bucket=bucket, prefix=prefix, storage_class=storage_class,
        stored_bytes=stored_bytes, object_count=10, source="export", collected_at=timezone.now(),
    )  # fmt: skip


def endpoint(acct, name, destination="") -> Endpoint:
    now = timezone.now()
    return Endpoint.objects.create(
        account=acct, region="us-east-1", name=name, status="InService", capture_enabled=bool(destination),
        capture_pct=20, capture_destination=destination, first_seen=now, last_seen=now,
    )  # fmt: skip


def expected(cells: list[tuple[str, str, int, str, float]]) -> dict:
    """(service, class, bytes, region, hours) cells -> energy, CO2e (the estimator at those hours) and the list cost
    of the priced cells (GiB x the shipped GB-month price x hours / 730), ``priced``/``unpriced`` cell counts."""
    frame = pd.DataFrame(cells, columns=["service", "storage_class", "stored_bytes", "region", "hours"])
    estimate = estimate_storage(frame, methodology="default")
    cost, priced, unpriced = 0.0, 0, 0
    for service, storage_class, size, region, hours in cells:
        usd = storage_usd_per_gb_month(service, "" if service == "logs" else storage_class, region)
        if usd is None:
            unpriced += 1
        else:
            cost, priced = cost + usd * size / GIB * hours / 730, priced + 1
    return {
        "energy_kwh": float(estimate["storage_kwh"].sum()),
        "co2e_kg": float(estimate["co2e_kg"].sum()),
        "cost_usd": cost,
        "priced": priced,
        "unpriced": unpriced,
    }


@pytest.fixture
def snapshots(teams):
    """A day D ten days ago; the period [D 06:00, D+4 03:00) UTC: 18, 24, 24, 24 and 3 hours."""
    d = today() - dt.timedelta(days=10)
    prod = account(teams[0], "111122223333", "ml-prod")
    stranger = account(teams[1], "444455556666", "theirs")
    # us-east-1: the snapshot of D-3 is carried into D and D+1; D+2's (g2 deleted, g3 new) into D+2..D+4.
    log_group(prod, "/old", 50 * GIB, d - dt.timedelta(days=20))  # superseded by D-3's day: gone
    log_group(prod, "/g1", 10 * GIB, d - dt.timedelta(days=3))
    log_group(prod, "/g2", 4 * GIB, d - dt.timedelta(days=3), cls="INFREQUENT_ACCESS")
    log_group(prod, "/g1", 20 * GIB, d + dt.timedelta(days=2))
    log_group(prod, "/g3", 1 * GIB, d + dt.timedelta(days=2))
    log_group(prod, "/g1", 100 * GIB, d + dt.timedelta(days=6))  # after the period
    # eu-west-1: first snapshot on D+1 (nothing on D); CloudWatch Logs has no shipped price there.
    log_group(prod, "/aws/sagemaker/Endpoints/eu", 8 * GIB, d + dt.timedelta(days=1), region="eu-west-1")
    log_group(stranger, "/theirs", 500 * GIB, d)  # another team's
    # Data capture: ep-1's prefix (its AllTraffic sub-prefix counted once), not the bucket nor another prefix.
    endpoint(prod, "ep-1", destination="s3://cap/captures")
    endpoint(prod, "plain")
    lens(prod, "cap", "", 40 * GIB, d - dt.timedelta(days=1))
    lens(prod, "cap", "captures/ep-1/", 30 * GIB, d - dt.timedelta(days=1))
    lens(prod, "cap", "captures/ep-1/AllTraffic/", 29 * GIB, d - dt.timedelta(days=1))
    lens(prod, "cap", "captures/ep-1/", 3 * GIB, d - dt.timedelta(days=1), storage_class="STANDARD_IA")
    lens(prod, "cap", "other/", 7 * GIB, d - dt.timedelta(days=1))
    lens(prod, "cap", "", 90 * GIB, d + dt.timedelta(days=3))  # D+3: the IA rows are gone, ep-1 grew
    lens(prod, "cap", "captures/ep-1/", 60 * GIB, d + dt.timedelta(days=3))
    lens(stranger, "cap", "captures/ep-1/", 900 * GIB, d)  # another team's account
    start, end = midnight(d) + dt.timedelta(hours=6), midnight(d + dt.timedelta(days=4)) + dt.timedelta(hours=3)
    hours = [18.0, 24.0, 24.0, 24.0, 3.0]
    cells = []
    for offset, h in enumerate(hours):
        if offset < 2:
            cells += [
                ("logs", "STANDARD", 10 * GIB, "us-east-1", h),
                ("logs", "INFREQUENT_ACCESS", 4 * GIB, "us-east-1", h),
            ]
        else:
            cells += [("logs", "STANDARD", 20 * GIB, "us-east-1", h), ("logs", "STANDARD", 1 * GIB, "us-east-1", h)]
        if offset >= 1:
            cells.append(("logs", "STANDARD", 8 * GIB, "eu-west-1", h))
        if offset < 3:
            cells += [("s3", "STANDARD", 30 * GIB, "us-east-1", h), ("s3", "STANDARD_IA", 3 * GIB, "us-east-1", h)]
        else:
            cells.append(("s3", "STANDARD", 60 * GIB, "us-east-1", h))
    return prod, start, end, expected(cells)


def test_the_lifecycle_splits_storage_stage_is_each_days_snapshots_at_the_monthly_estimate(snapshots):
    prod, start, end, want = snapshots
    assert want["priced"] and want["unpriced"]  # the eu-west-1 log group has no shipped price
    split = wq.lifecycle_split(queries.team_accounts(prod.team), start, end).set_index("stage")
    row = split.loc["storage"]
    assert list(split.reset_index().columns) == wq.STAGE_COLUMNS
    assert row["energy_kwh"] == pytest.approx(want["energy_kwh"], rel=1e-9) and want["energy_kwh"] > 0
    assert row["co2e_kg"] == pytest.approx(want["co2e_kg"], rel=1e-9)
    assert row["cost_usd"] == pytest.approx(want["cost_usd"], rel=1e-9)
    assert row["embodied_co2e_kg"] == 0.0 and row["instance_hours"] == 0.0
    assert row["note"] == stored.PARTIAL_COST_NOTE


def test_the_stage_changes_with_the_snapshots_it_is_made_of(snapshots):
    prod, start, end, want = snapshots
    accounts = queries.team_accounts(prod.team)
    LogGroupSnapshot.objects.filter(account=prod, name="/g3").update(stored_bytes=1 * GIB + 10 * GIB)
    grown = stored.period_footprint(accounts, start, end, price_book.PriceBook.load())
    extra = expected([("logs", "STANDARD", 10 * GIB, "us-east-1", h) for h in (24.0, 24.0, 3.0)])
    assert grown["energy_kwh"] == pytest.approx(want["energy_kwh"] + extra["energy_kwh"], rel=1e-9)
    assert grown["cost_usd"] == pytest.approx(want["cost_usd"] + extra["cost_usd"], rel=1e-9)


def test_a_constant_snapshot_over_30_days_is_30x24_over_730_of_the_storage_pages_month(client, alice, teams):
    prod = account(teams[0], "111122223333", "ml-prod")
    endpoint(prod, "ep-1", destination="s3://cap/captures")
    for back in range(0, 32):
        day = today() - dt.timedelta(days=back)
        log_group(prod, "/aws/sagemaker/Endpoints/ep-1", 7 * GIB + 123, day, retention=None)
        log_group(prod, "/app/ia", 3 * GIB, day, cls="INFREQUENT_ACCESS")
        lens(prod, "cap", "captures/ep-1/", 12 * GIB, day)
        lens(prod, "cap", "captures/ep-1/", 2 * GIB, day, storage_class="GLACIER")
        lens(prod, "cap", "", 50 * GIB, day)
    client.force_login(alice)
    page = client.get("/storage/").context["summary"]
    start, end = midnight(today() - dt.timedelta(days=30)), midnight(today())
    split = wq.lifecycle_split(queries.team_accounts(teams[0]), start, end).set_index("stage").loc["storage"]
    share = 30 * 24 / 730
    assert page["energy_kwh_month"] > 0 and page["cost_usd_month"] > 0
    assert split["energy_kwh"] == pytest.approx(page["energy_kwh_month"] * share, rel=1e-9)
    assert split["co2e_kg"] == pytest.approx(page["co2e_kg_month"] * share, rel=1e-9)
    assert split["cost_usd"] == pytest.approx(page["cost_usd_month"] * share, rel=1e-9)
    # and the page's month itself, recomputed: 730 hours of the latest snapshot
    month = expected([("logs", "STANDARD", 7 * GIB + 123, "us-east-1", 730.0),
                      ("logs", "INFREQUENT_ACCESS", 3 * GIB, "us-east-1", 730.0),
                      ("s3", "STANDARD", 12 * GIB, "us-east-1", 730.0),
                      ("s3", "GLACIER", 2 * GIB, "us-east-1", 730.0)])  # fmt: skip
    assert page["energy_kwh_month"] == pytest.approx(month["energy_kwh"], rel=1e-9)


def test_no_storage_no_footprint_and_nothing_before_the_first_snapshot(teams):
    prod = account(teams[0], "111122223333", "ml-prod")
    accounts = queries.team_accounts(teams[0])
    start, end = midnight(today() - dt.timedelta(days=7)), midnight(today())
    book = price_book.PriceBook.load()
    empty = stored.period_footprint(accounts, start, end, book)
    assert empty == {"energy_kwh": 0.0, "co2e_kg": 0.0, "embodied_co2e_kg": 0.0, "cost_usd": 0.0,
                     "instance_hours": 0.0, "note": ""}  # fmt: skip
    assert stored.period_footprint([], start, end, book)["energy_kwh"] == 0.0
    log_group(prod, "/late", 5 * GIB, today() - dt.timedelta(days=2))  # the period's last two days only
    late = stored.period_footprint(accounts, start, end, book)
    want = expected([("logs", "STANDARD", 5 * GIB, "us-east-1", 48.0)])
    assert late["energy_kwh"] == pytest.approx(want["energy_kwh"], rel=1e-9)
    assert late["cost_usd"] == pytest.approx(want["cost_usd"], rel=1e-9) and late["note"] == ""


def test_only_unpriced_storage_has_no_cost(teams):
    prod = account(teams[0], "111122223333", "ml-prod")
    log_group(prod, "/eu", 5 * GIB, today() - dt.timedelta(days=3), region="eu-west-1")
    start, end = midnight(today() - dt.timedelta(days=2)), midnight(today())
    footprint = stored.period_footprint(queries.team_accounts(teams[0]), start, end, price_book.PriceBook.load())
    assert footprint["energy_kwh"] > 0 and math.isnan(footprint["cost_usd"]) and footprint["note"] == ""


def test_day_hours_split_a_window_at_utc_midnights():
    start = dt.datetime(2026, 3, 1, 22, 30, tzinfo=dt.UTC)
    hours = stored.day_hours(start, start + dt.timedelta(hours=27))
    assert hours == {dt.date(2026, 3, 1): 1.5, dt.date(2026, 3, 2): 24.0, dt.date(2026, 3, 3): 1.5}
    assert stored.day_hours(start, start) == {}


def test_queries_do_not_grow_with_log_groups_prefixes_or_days(teams):
    prod = account(teams[0], "111122223333", "ml-prod")
    endpoint(prod, "ep-1", destination="s3://cap/captures")
    accounts = queries.team_accounts(teams[0])
    book = price_book.PriceBook.load()

    def count(days: int) -> int:
        with CaptureQueriesContext(connection) as captured:
            stored.period_footprint(accounts, midnight(today() - dt.timedelta(days=days)), midnight(today()), book)
        return len(captured)

    for back in range(3):
        log_group(prod, "/a", GIB, today() - dt.timedelta(days=back))
        lens(prod, "cap", "captures/ep-1/", GIB, today() - dt.timedelta(days=back))
    small = count(3)
    for back in range(60):
        for n in range(5):
            log_group(prod, f"/g{n}", GIB, today() - dt.timedelta(days=back), region=["us-east-1", "eu-west-1"][n % 2])
        lens(prod, "cap", f"captures/ep-1/part{back}/", GIB, today() - dt.timedelta(days=back))
    assert count(60) == small == 5


def test_outermost_counts_nested_prefixes_once_per_account_bucket_and_class():
    def row(prefix, account_id=1, bucket="b", storage_class="STANDARD"):
        return {"prefix": prefix, "account_id": account_id, "bucket": bucket, "storage_class": storage_class}

    rows = [
        row("captures/ep-1/AllTraffic/"),
        row("captures/ep-1/"),
        row("captures/ep-1/"),  # the same prefix twice: once
        row("captures/ep-10/"),  # not inside captures/ep-1/ (but inside captures/ep-1)
        row("captures/ep-1/AllTraffic/", storage_class="GLACIER"),  # another class: its own cell
        row("captures/ep-1/x/", account_id=2),  # another account
        row("captures/ep-1/x/", bucket="c"),  # another bucket
        row("captures/ep-1"),  # a string prefix of ep-1/ and ep-10/: holds both
    ]
    kept = stored.outermost(rows)
    assert sorted((r["prefix"], r["account_id"], r["bucket"], r["storage_class"]) for r in kept) == [
        ("captures/ep-1", 1, "b", "STANDARD"),
        ("captures/ep-1/AllTraffic/", 1, "b", "GLACIER"),
        ("captures/ep-1/x/", 1, "c", "STANDARD"),
        ("captures/ep-1/x/", 2, "b", "STANDARD"),
    ]
    assert stored.outermost([row(""), row("a/")]) == [row("")]  # the whole bucket holds every prefix
    assert stored.outermost([{"prefix": "a/"}, {"prefix": "a/b/"}, {"prefix": "c/"}]) == [
        {"prefix": "a/"},
        {"prefix": "c/"},
    ]  # rows without a cell's fields: one cell
