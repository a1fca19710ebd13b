"""The dashboard in headless Chromium, on data collected from the simulated AWS by the real collectors.

Charts must render (Plotly from our own static files) with no console error, a filter must change the numbers,
the endpoint page must draw a configuration change made through the SageMaker API, and a downloaded CSV must
equal the table on the page. Screenshots go to test-artifacts/.
"""

import csv
from datetime import date, datetime, timedelta

import pytest
from django.utils import timezone

from collectors import runner
from collectors.models import Endpoint
from collectors.utilization import floor_hour
from dashboard.footprint import estimates as footprint
from sandbox.clients import client as sandbox_client
from sandbox.scenarios import change_instance_type
from tests.collectors.conftest import aws_env, make_config, prod, register, scratch  # noqa: F401 - fixtures
from tests.web.conftest import ARTIFACTS
from tests.web.html import number

PASSWORD = "correct horse battery staple"
HOURS = 8
CHANGED_HOURS_AGO = 3
CHART_TIMEOUT_MS = 60_000  # bounds a hang only (it ends when the chart is drawn); a loaded machine draws slowly


def log_in(page, live_server, username="alice"):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("h1")


def wait_for_charts(page, *chart_ids):
    for chart_id in chart_ids:
        page.wait_for_selector(f"#{chart_id}[data-rendered=true] .main-svg", timeout=CHART_TIMEOUT_MS)


def shot(page, name: str):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def seeded_week(sandbox) -> str:
    """The seven UTC days ending on the sandbox's seeding day, as a custom period: "the last 7 days" would move at
    midnight between two page loads, these do not."""
    last = date.fromisoformat(sandbox["seeded_at"][:10])
    return f"from={last - timedelta(days=6)}&to={last}"


@pytest.fixture
def collected(prod):
    """The demo fleet's production account in two regions, collected and estimated as the workers would."""
    for region in ("us-east-1", "eu-west-1"):
        runner.run(prod, region, "inventory")
        runner.run(prod, region, "utilization")
    footprint.estimate_pending()
    return prod


@pytest.mark.browser
def test_the_overview_draws_its_charts_and_a_filter_changes_the_numbers(page, live_server, alice, collected, sandbox):
    log_in(page, live_server)
    page.goto(f"{live_server.url}/?{seeded_week(sandbox)}")
    wait_for_charts(page, "trend-chart", "breakdown-chart")
    assert page.locator("#trend-chart .bars .point").count() > 0  # the daily bars are drawn
    everything = page.inner_text("[data-figure=energy_kwh]")
    shot(page, "overview")
    page.select_option("#f-region", "eu-west-1")  # the form submits itself on change
    page.wait_for_url("**region=eu-west-1**")
    wait_for_charts(page, "trend-chart", "breakdown-chart")
    narrowed = page.inner_text("[data-figure=energy_kwh]")
    assert number(narrowed.removesuffix(" kWh")) < number(everything.removesuffix(" kWh"))
    page.select_option("#f-group", "region")
    page.wait_for_url("**group=region**")
    regions = page.locator("#breakdown tbody tr td:first-child").all_inner_texts()
    assert regions == ["eu-west-1"]
    page.reload()  # the URL alone reproduces the view
    assert page.inner_text("[data-figure=energy_kwh]") == narrowed
    shot(page, "overview-eu-west-1-by-region")
    assert page.console_errors == []


@pytest.mark.browser
def test_a_downloaded_csv_equals_the_table_on_the_page(page, live_server, alice, collected, sandbox):
    log_in(page, live_server)
    page.goto(f"{live_server.url}/?{seeded_week(sandbox)}&group=family")
    shown = [[cell.strip() for cell in row.split("\t")] for row in page.locator("#breakdown tr").all_inner_texts()]
    with page.expect_download() as download:
        page.click("#breakdown-card a.csv")
    with open(download.value.path(), newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert download.value.suggested_filename.endswith("-breakdown.csv")
    assert rows[0] == shown[0] and len(rows) == len(shown) > 2
    for csv_row, page_row in zip(rows[1:], shown[1:], strict=True):
        assert [("—" if cell == "" else cell) for cell in csv_row[:1]] == page_row[:1]
        for csv_cell, page_cell in zip(csv_row[1:], page_row[1:], strict=True):
            assert (number(page_cell) if page_cell != "—" else None) == (float(csv_cell) if csv_cell else None)
    assert page.console_errors == []


def publish_hours(url: str, account_id: str, region: str, endpoint: str, hours: int, end: datetime) -> None:
    """What SageMaker would have published for the ``hours`` whole hours before ``end``: an hour of one instance's
    per-minute datapoints per metric and hour."""
    cloudwatch = sandbox_client("cloudwatch", url, region, account_id)
    start = end - timedelta(hours=hours)
    dimensions = [{"Name": "EndpointName", "Value": endpoint}, {"Name": "VariantName", "Value": "AllTraffic"}]

    def datum(name, hour, per_minute, unit):
        return {
            "MetricName": name,
            "Dimensions": dimensions,
            "Timestamp": start + timedelta(hours=hour),
            "Unit": unit,
            "StatisticValues": {
                "SampleCount": 60.0,
                "Sum": 60.0 * per_minute,
                "Minimum": per_minute,
                "Maximum": per_minute,
            },
        }

    for hour in range(hours):
        cloudwatch.put_metric_data(
            Namespace="/aws/sagemaker/Endpoints",
            MetricData=[
                datum("CPUUtilization", hour, 120.0, "Percent"),
                datum("MemoryUtilization", hour, 35.0, "Percent"),
                datum("GPUUtilization", hour, 30.0, "Percent"),
                datum("GPUMemoryUtilization", hour, 20.0, "Percent"),
            ],
        )
        cloudwatch.put_metric_data(Namespace="AWS/SageMaker", MetricData=[datum("Invocations", hour, 50.0, "None")])


@pytest.fixture
def changed_endpoint(scratch, aws_env):
    """An endpoint created 8 hours ago on ml.g5.2xlarge and moved to ml.g5.xlarge 3 hours ago, through the
    SageMaker API, collected before and after the change. Every time is counted from one whole hour read once, so
    an hour boundary passing while the fixture runs changes nothing."""
    sagemaker, this_hour = scratch.sagemaker, floor_hour(timezone.now())
    make_config(sagemaker, "annotated-v1", "ml.g5.2xlarge")
    arn = sagemaker.create_endpoint(
        EndpointName="annotated",
        EndpointConfigName="annotated-v1",
        Tags=[
            {"Key": "sandbox:creationTime", "Value": (this_hour - timedelta(hours=HOURS + 1)).isoformat()},
            {"Key": "team", "Value": "<img src=x onerror=alert(1)>"},
        ],
    )["EndpointArn"]
    publish_hours(aws_env["url"], scratch.account_id, "us-west-2", "annotated", HOURS, this_hour)
    runner.run(scratch, "us-west-2", "inventory")
    change_instance_type(aws_env["url"], scratch.account_id, "us-west-2", "annotated", "AllTraffic", "ml.g5.xlarge")
    changed_at = this_hour - timedelta(hours=CHANGED_HOURS_AGO)
    sagemaker.add_tags(ResourceArn=arn, Tags=[{"Key": "sandbox:lastModifiedTime", "Value": changed_at.isoformat()}])
    runner.run(scratch, "us-west-2", "inventory")
    runner.run(scratch, "us-west-2", "utilization")
    footprint.estimate_pending()
    return Endpoint.objects.get(account=scratch, name="annotated")


@pytest.mark.browser
def test_the_endpoint_page_draws_the_configuration_change_on_every_chart(page, live_server, alice, changed_endpoint):
    types = list(changed_endpoint.hours.order_by("hour").values_list("instance_type", flat=True))
    assert types == ["ml.g5.2xlarge"] * (HOURS - CHANGED_HOURS_AGO) + ["ml.g5.xlarge"] * CHANGED_HOURS_AGO
    log_in(page, live_server)
    page.goto(f"{live_server.url}/endpoints/{changed_endpoint.pk}/")
    charts = ("utilization-chart", "footprint-chart", "intensity-chart")
    wait_for_charts(page, *charts)
    label = "variant AllTraffic moved from ml.g5.2xlarge to ml.g5.xlarge"
    for chart in charts:
        assert page.locator(f"#{chart} .annotation-text").all_text_contents() == [label], chart
    assert label in page.inner_text("#changes")
    assert "<img src=x onerror=alert(1)>" in page.inner_text("#endpoint-facts")  # shown as text, never as markup
    assert page.locator("#endpoint-facts img").count() == 0
    shot(page, "endpoint-with-configuration-change")
    assert page.console_errors == []


@pytest.mark.browser
def test_the_storage_page_and_navigation_render_without_errors(page, live_server, alice, collected):
    runner.run(collected, "us-east-1", "log_groups")
    log_in(page, live_server)
    for link, heading in (
        ("Storage", "Storage"),
        ("Endpoints", "Endpoints"),
        ("Collection health", "Collection health"),
        ("Methodology", "Estimation methodology"),
    ):
        page.click(f"nav.mainnav >> text={link}")
        page.wait_for_selector("h1")
        assert page.inner_text("h1").startswith(heading), link
    page.click("nav.mainnav >> text=Storage")
    assert page.locator("#log-groups tbody tr").count() > 0
    shot(page, "storage")
    assert page.console_errors == []
