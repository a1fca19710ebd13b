"""The Storage page: log groups (size, retention, growth, monthly CO2e) and data-capture prefixes, team-scoped,
filterable, downloadable as the same CSV, escaped, and in a constant number of queries."""

import csv
import datetime as dt
import io
import re
from html.parser import HTMLParser

import pandas as pd
import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from collectors.models import AwsAccount, Endpoint, LogGroupSnapshot, StorageLensDay
from estimator import estimate_storage

GIB = 2**30
URL = "/storage/"
NUMBER = re.compile(r"^-?\d+(\.\d+)?(e-?\d+)?$")  # the CSV writes tiny floats as 4e-05


# --- helpers ------------------------------------------------------------------------------------------------------


def today() -> dt.date:
    return timezone.now().date()


def ago(days: int) -> dt.date:
    return today() - dt.timedelta(days=days)


def account(team, account_id="111122223333", name="ml-prod", regions=("us-east-1", "eu-west-1")) -> AwsAccount:
    return AwsAccount.objects.create(team=team, account_id=account_id, name=name, regions=list(regions))


def log_group(acct, name, stored_bytes, day=None, region="us-east-1", retention=30, cls="STANDARD"):
    return LogGroupSnapshot.objects.create(
        account=acct,
        region=region,
        name=name,
        day=day or today(),
        stored_bytes=stored_bytes,
        retention_days=retention,
        log_group_class=cls,
        collected_at=timezone.now(),
    )


def lens(acct, bucket, prefix, stored_bytes, day=None, region="us-east-1", storage_class="STANDARD", objects=10):
    return StorageLensDay.objects.create(
        account=acct,
        day=day or today(),
        region=region,
        bucket=bucket,
        prefix=prefix,
        storage_class=storage_class,
        stored_bytes=stored_bytes,
        object_count=objects,
        source="export",
        collected_at=timezone.now(),
    )


def endpoint(acct, name, region="us-east-1", destination="", pct=None) -> Endpoint:
    now = timezone.now()
    return Endpoint.objects.create(
        account=acct,
        region=region,
        name=name,
        status="InService",
        capture_enabled=bool(destination),
        capture_pct=pct,
        capture_destination=destination,
        first_seen=now,
        last_seen=now,
    )


def monthly(service, storage_class, stored_bytes, region) -> pd.Series:
    frame = pd.DataFrame(
        {
            "service": [service],
            "storage_class": [storage_class],
            "stored_bytes": [stored_bytes],
            "hours": [730.0],
            "region": [region],
        }
    )
    return estimate_storage(frame, methodology="default").iloc[0]


class TableParser(HTMLParser):
    """Header, and per row: the tr's class, cell texts and cell hrefs, of one <table id=...>."""

    def __init__(self, table_id: str):
        super().__init__()
        self.table_id, self.inside, self.header, self.rows = table_id, False, [], []
        self.cell = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and attrs.get("id") == self.table_id:
            self.inside = True
        elif not self.inside:
            return
        elif tag == "tr":
            self.rows.append({"css": (attrs.get("class") or "").split(), "cells": [], "links": []})
        elif tag in ("td", "th"):
            self.cell = []
        elif tag == "a" and self.cell is not None:
            self.rows[-1]["links"].append(attrs.get("href"))

    def handle_endtag(self, tag):
        if tag == "table" and self.inside:
            self.inside = False
        elif self.inside and tag in ("td", "th") and self.cell is not None:
            self.rows[-1]["cells"].append("".join(self.cell).strip())
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def html_table(content: bytes, table_id: str) -> tuple[list[str], list[dict]]:
    parser = TableParser(table_id)
    parser.feed(content.decode())
    if not parser.rows:
        return [], []
    header, *rows = parser.rows
    return header["cells"], [{**row, "by": dict(zip(header["cells"], row["cells"], strict=True))} for row in rows]


def csv_table(content: bytes) -> tuple[list[str], list[dict]]:
    header, *rows = list(csv.reader(io.StringIO(content.decode())))
    return header, [dict(zip(header, row, strict=True)) for row in rows]


def number(text: str) -> float:
    return float(text.replace(",", ""))


def names(content: bytes, table_id: str = "log-groups") -> list[str]:
    return [row["cells"][0] for row in html_table(content, table_id)[1]]


# --- fixtures -----------------------------------------------------------------------------------------------------


@pytest.fixture
def prod(teams):
    return account(teams[0])


@pytest.fixture
def fleet(prod):
    """Three current log groups (one never expires, one grew), one deleted, and an endpoint with data capture."""
    ep = endpoint(prod, "ep-1", destination="s3://cap-bucket/captures", pct=20)
    endpoint(prod, "ep-10", destination="s3://cap-bucket/captures", pct=100)
    log_group(prod, "/aws/sagemaker/Endpoints/ep-1", 3 * GIB, day=ago(60), retention=None)  # before the period
    log_group(prod, "/aws/sagemaker/Endpoints/ep-1", 4 * GIB, day=ago(20), retention=None)
    log_group(prod, "/aws/sagemaker/Endpoints/ep-1", 9 * GIB + 12345, retention=None)
    log_group(prod, "/app/small", 200 * 2**20, day=ago(20), retention=7)
    log_group(prod, "/app/small", 300 * 2**20, retention=7)
    log_group(prod, "/app/middle", 2 * GIB, retention=14, cls="INFREQUENT_ACCESS")
    log_group(prod, "/app/deleted", 50 * GIB, day=ago(3))
    lens(prod, "cap-bucket", "", 40 * GIB)
    lens(prod, "cap-bucket", "captures/ep-1/", 30 * GIB, objects=1200)
    lens(prod, "cap-bucket", "captures/ep-1/AllTraffic/", 29 * GIB)
    lens(prod, "cap-bucket", "captures/ep-10/", 5 * GIB, storage_class="STANDARD_IA")
    lens(prod, "cap-bucket", "captures/ep-1/", 1 * GIB, day=ago(1))  # an older day: not shown
    return ep


# --- log groups ---------------------------------------------------------------------------------------------------


def test_log_groups_are_largest_first_with_never_expire_highlighted_and_deleted_groups_left_out(client, alice, fleet):
    client.force_login(alice)
    response = client.get(URL)
    assert response.status_code == 200
    assert names(response.content) == ["/aws/sagemaker/Endpoints/ep-1", "/app/middle", "/app/small"]
    _, rows = html_table(response.content, "log-groups")
    assert "never-expire" in rows[0]["css"] and rows[0]["by"]["Retention"] == "Never expire"
    assert "never-expire" not in rows[1]["css"] and rows[2]["by"]["Retention"] == "7 days"
    assert rows[0]["by"]["Stored (GiB)"] == "9.00" and rows[1]["by"]["Class"] == "INFREQUENT_ACCESS"


def test_growth_is_the_change_since_the_first_snapshot_in_the_period(client, alice, fleet):
    client.force_login(alice)
    _, rows = html_table(client.get(URL).content, "log-groups")
    by_name = {row["cells"][0]: row["by"] for row in rows}
    grown = (9 * GIB + 12345 - 4 * GIB) / GIB  # the snapshot 60 days ago is outside the 30-day period
    assert number(by_name["/aws/sagemaker/Endpoints/ep-1"]["Growth (GiB)"]) == round(grown, 2)
    assert number(by_name["/aws/sagemaker/Endpoints/ep-1"]["Growth (GiB / day)"]) == round(grown / 20, 3)
    assert number(by_name["/app/small"]["Growth (GiB)"]) == round(100 / 1024, 2)
    assert by_name["/app/middle"]["Growth (GiB)"] == "—"  # one snapshot: no growth to measure
    _, rows = html_table(client.get(URL, {"period": "90d"}).content, "log-groups")
    assert number(rows[0]["by"]["Growth (GiB)"]) == round((9 * GIB + 12345 - 3 * GIB) / GIB, 2)


def test_monthly_co2e_energy_and_cost_are_the_estimators(client, alice, fleet):
    client.force_login(alice)
    _, rows = html_table(client.get(URL).content, "log-groups")
    by_name = {row["cells"][0]: row["by"] for row in rows}
    expected = monthly("logs", "STANDARD", 9 * GIB + 12345, "us-east-1")
    assert number(by_name["/aws/sagemaker/Endpoints/ep-1"]["CO2e / month (kg)"]) == round(expected["co2e_kg"], 5)
    assert number(by_name["/aws/sagemaker/Endpoints/ep-1"]["Energy / month (kWh)"]) == round(expected["storage_kwh"], 5)
    middle = monthly("logs", "INFREQUENT_ACCESS", 2 * GIB, "us-east-1")
    assert number(by_name["/app/middle"]["CO2e / month (kg)"]) == round(middle["co2e_kg"], 5)
    from estimator.prices import storage_usd_per_gb_month

    price = storage_usd_per_gb_month("logs", "", "us-east-1")
    assert number(by_name["/app/middle"]["Cost / month (USD)"]) == round(price * 2, 2)


def test_a_log_group_and_a_capture_prefix_link_to_their_endpoint(client, alice, fleet):
    client.force_login(alice)
    content = client.get(URL).content
    link = reverse("endpoint", args=[fleet.pk])
    _, logs = html_table(content, "log-groups")
    assert logs[0]["links"] == [link] and logs[1]["links"] == []
    _, capture = html_table(content, "capture")
    by_prefix = {(row["by"]["Prefix"], row["by"]["Storage class"]): row for row in capture}
    assert set(by_prefix) == {
        ("—", "STANDARD"),
        ("captures/ep-1/", "STANDARD"),
        ("captures/ep-1/AllTraffic/", "STANDARD"),
        ("captures/ep-10/", "STANDARD_IA"),
    }
    row = by_prefix[("captures/ep-1/", "STANDARD")]
    assert row["links"] == [link] and row["by"]["Capture sampling (%)"] == "20" and row["by"]["Endpoint"] == "ep-1"
    assert number(row["by"]["Stored (GiB)"]) == 30.0 and number(row["by"]["Objects"]) == 1200
    assert by_prefix[("captures/ep-1/AllTraffic/", "STANDARD")]["links"] == [link]
    assert by_prefix[("captures/ep-10/", "STANDARD_IA")]["by"]["Endpoint"] == "ep-10"  # not ep-1's
    assert by_prefix[("—", "STANDARD")]["links"] == []
    expected = monthly("s3", "STANDARD", 30 * GIB, "us-east-1")
    assert number(row["by"]["CO2e / month (kg)"]) == round(expected["co2e_kg"], 5)


def test_the_summary_counts_bytes_never_expiring_share_and_capture_once(client, alice, fleet):
    client.force_login(alice)
    summary = client.get(URL).context["summary"]
    total = 9 * GIB + 12345 + 300 * 2**20 + 2 * GIB
    assert summary["log_gib"] == pytest.approx(total / GIB)
    assert summary["never_expire_pct"] == pytest.approx(100 * (9 * GIB + 12345) / total)
    assert summary["capture_gib"] == pytest.approx(35.0)  # ep-1's prefix (not again its AllTraffic) + ep-10's
    logs = sum(
        monthly("logs", cls, size, "us-east-1")["co2e_kg"]
        for cls, size in [("STANDARD", 9 * GIB + 12345), ("STANDARD", 300 * 2**20), ("INFREQUENT_ACCESS", 2 * GIB)]
    )
    capture = (
        monthly("s3", "STANDARD", 30 * GIB, "us-east-1")["co2e_kg"]
        + monthly("s3", "STANDARD_IA", 5 * GIB, "us-east-1")["co2e_kg"]
    )
    assert summary["co2e_kg_month"] == pytest.approx(logs + capture)


@pytest.mark.parametrize("table_id", ["log-groups", "capture"])
def test_the_csv_has_the_rows_and_values_of_the_html_table(client, alice, fleet, table_id):
    log_group(fleet.account, "/app/with, a comma", 1500 * GIB)  # thousands separators in the page, not the CSV
    client.force_login(alice)
    html_header, html_rows = html_table(client.get(URL).content, table_id)
    response = client.get(URL, {"csv": table_id})
    assert response["Content-Type"].startswith("text/csv")
    assert f"wattson-storage-{ago(29)}-{today()}-{table_id}.csv" in response["Content-Disposition"]
    csv_header, csv_rows = csv_table(response.content)
    assert csv_header == html_header and len(csv_rows) == len(html_rows) > 0
    for html_row, csv_row in zip(html_rows, csv_rows, strict=True):
        for label in csv_header:
            shown, downloaded = html_row["by"][label], csv_row[label]
            if shown == "—":
                assert downloaded == ""
            elif NUMBER.match(downloaded):
                assert number(shown) == float(downloaded)
            else:
                assert shown == downloaded


def test_an_unknown_csv_table_is_a_404(client, alice, fleet):
    client.force_login(alice)
    assert client.get(URL, {"csv": "nope"}).status_code == 404


# --- scoping and escaping -----------------------------------------------------------------------------------------


def test_other_teams_see_none_of_it(client, alice, charlie, teams, fleet):
    theirs = account(teams[1], "555566667777", "their-account")
    log_group(theirs, "/their/secret-group", GIB)
    lens(theirs, "their-bucket", "", GIB)
    endpoint(theirs, "ep-1", destination="s3://cap-bucket/captures", pct=99)  # same name and destination as ours
    client.force_login(charlie)
    page = client.get(URL).content.decode()
    assert "/their/secret-group" in page and "their-bucket" in page
    for secret in ("/app/middle", "/aws/sagemaker/Endpoints/ep-1", "cap-bucket", "ml-prod", "111122223333"):
        assert secret not in page
    assert "/app/middle" not in client.get(URL, {"csv": "log-groups"}).content.decode()
    assert "cap-bucket" not in client.get(URL, {"csv": "capture"}).content.decode()
    client.force_login(alice)
    page = client.get(URL).content
    assert b"/their/secret-group" not in page and b"their-bucket" not in page
    _, capture = html_table(page, "capture")
    assert all(row["by"]["Capture sampling (%)"] != "99" for row in capture)


def test_hostile_names_are_escaped(client, alice, prod):
    log_group(prod, "/aws/x/<script>alert(1)</script>", GIB)
    lens(prod, "bucket", "<img src=x onerror=alert(2)>/", GIB)
    client.force_login(alice)
    page = client.get(URL).content.decode()
    assert "/aws/x/&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert(1)" not in page and "<img src=x" not in page
    assert "&lt;img src=x onerror=alert(2)&gt;/" in page


# --- filters ------------------------------------------------------------------------------------------------------


def test_account_and_region_filters_narrow_both_tables(client, alice, teams, prod):
    research = account(teams[0], "999988887777", "ml-research")
    log_group(prod, "/prod/us", GIB)
    log_group(prod, "/prod/eu", GIB, region="eu-west-1")
    log_group(research, "/research/us", GIB)
    lens(prod, "prod-us", "", GIB)
    lens(prod, "prod-eu", "", GIB, region="eu-west-1")
    lens(research, "research-us", "", GIB)
    client.force_login(alice)
    assert sorted(names(client.get(URL).content)) == ["/prod/eu", "/prod/us", "/research/us"]
    page = client.get(URL, {"account": "999988887777"}).content
    assert names(page) == ["/research/us"] and names(page, "capture") == ["research-us"]
    page = client.get(URL, {"region": "eu-west-1"}).content
    assert names(page) == ["/prod/eu"] and names(page, "capture") == ["prod-eu"]
    page = client.get(URL, {"account": "111122223333", "region": "us-east-1"}).content
    assert names(page) == ["/prod/us"] and names(page, "capture") == ["prod-us"]
    csv_rows = csv_table(client.get(URL, {"region": "eu-west-1", "csv": "log-groups"}).content)[1]
    assert [row["Log group"] for row in csv_rows] == ["/prod/eu"]


def test_bad_filter_values_are_reported_and_the_page_still_renders(client, alice, fleet):
    client.force_login(alice)
    response = client.get(URL, {"account": "12345", "region": "mars-north-1", "period": "2y", "tag": "team=x"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "An AWS account id is 12 digits." in page and "Unknown AWS region" in page
    assert "Period must be one of" in page and "does not apply here" in page
    assert names(response.content)[0] == "/aws/sagemaker/Endpoints/ep-1"  # defaults used instead


def test_a_past_custom_period_measures_growth_inside_it(client, alice, prod):
    log_group(prod, "/app/a", 1 * GIB, day=ago(40))
    log_group(prod, "/app/a", 2 * GIB, day=ago(35))
    log_group(prod, "/app/a", 8 * GIB)
    client.force_login(alice)
    _, rows = html_table(client.get(URL, {"from": str(ago(45)), "to": str(ago(32))}).content, "log-groups")
    assert rows[0]["by"]["Stored (GiB)"] == "2.00" and rows[0]["by"]["As of"] == str(ago(35))
    assert number(rows[0]["by"]["Growth (GiB)"]) == 1.0


# --- empty states -------------------------------------------------------------------------------------------------


def test_without_a_team_the_page_says_so(client, db):
    user = get_user_model().objects.create_user(username="loner", password="correct horse battery staple")
    client.force_login(user)
    response = client.get(URL)
    assert response.status_code == 200 and b"You are not in a team yet" in response.content


def test_without_accounts_it_asks_to_connect_one(client, alice):
    client.force_login(alice)
    page = client.get(URL).content.decode()
    assert "Connect an AWS account" in page and f'href="{reverse("aws-accounts")}"' in page
    assert 'id="log-groups"' not in page


def test_with_accounts_but_no_snapshots_it_waits_for_the_first_collection(client, alice, prod):
    client.force_login(alice)
    page = client.get(URL).content.decode()
    assert "Waiting for the first collection" in page and f'href="{reverse("collection-health")}"' in page


# --- queries ------------------------------------------------------------------------------------------------------


def _queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(URL).status_code == 200
    return len(queries)


def _grow(acct, groups: int):
    for i in range(groups):
        for day in (ago(10), ago(5), today()):
            log_group(
                acct,
                f"/aws/sagemaker/Endpoints/ep-{i}",
                (i + 1) * GIB,
                day=day,
                retention=None if i % 2 else 7,
                region="eu-west-1" if i % 3 else "us-east-1",
            )
        endpoint(acct, f"ep-{i}", destination=f"s3://cap/data/{i}", pct=10)
        lens(acct, "cap", f"data/{i}/ep-{i}/", GIB)


def test_the_query_count_does_not_grow_with_rows(client, alice, prod):
    client.force_login(alice)
    _grow(prod, 3)
    few = _queries(client)
    _grow(account(prod.team, "999988887777", "ml-research"), 30)
    assert len(names(client.get(URL).content)) == 33 and len(names(client.get(URL).content, "capture")) == 33
    assert _queries(client) == few
