"""The charts' edge cases as Chromium draws them (Plotly's own state, read from the page): one bucket, a sparse
serverless series, the explained empty utilization chart, the CO2e range in the legend, whole-number instance
ticks, and a partial last day. The fleet is built in the database and estimated by the real estimator."""

import re
from datetime import UTC, date, datetime, timedelta

import pytest

from collectors.models import Endpoint, VariantConfig, VariantHour
from dashboard.web import charts
from tests.web.conftest import ARTIFACTS
from tests.web.factories import account, estimate
from tests.web.test_dashboard_browser import log_in, wait_for_charts

DAY_MS = 24 * 3600 * 1000
RANKER_DAYS = 9  # the ranker ran the 9 days before the last day, and 6 hours of it
LAST_DAY_HOURS = 6  # the ranker's last day: 6 of 24 hours collected (a partial bucket, 25 %)
SERVERLESS_HOURS = (3, 20, 41)  # the hours (from the first day's midnight) a serverless endpoint was invoked


def last_day() -> date:
    return datetime.now(UTC).date() - timedelta(days=3)


def midnight(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=UTC)


def hour_rows(row: Endpoint, hours, start: datetime, **values) -> list[VariantHour]:
    stamp = datetime.now(UTC)
    return [
        VariantHour(
            endpoint=row, variant_name="AllTraffic", hour=start + timedelta(hours=h), collected_at=stamp, **values
        )
        for h in hours
    ]


def make_endpoint(owner, name: str, **config) -> Endpoint:
    begin = midnight(last_day() - timedelta(days=RANKER_DAYS))
    row = Endpoint.objects.create(
        account=owner,
        region="us-east-1",
        name=name,
        status="InService",
        tags={},
        first_seen=begin,
        last_seen=begin,
        created_time=begin,
    )
    VariantConfig.objects.create(endpoint=row, variant_name="AllTraffic", valid_from=begin, **config)
    return row


@pytest.fixture
def fleet(teams):
    """A GPU endpoint running 1 to 2 instances for nine days and 6 hours, and a serverless one invoked 3 times in
    the last three days."""
    owner = account(teams[0], "111122223333")
    ranker = make_endpoint(owner, "ranker", instance_type="ml.g5.2xlarge", initial_instance_count=2)
    hours, start = range(24 * RANKER_DAYS + LAST_DAY_HOURS), midnight(last_day() - timedelta(days=RANKER_DAYS))
    gpu = {"instance_type": "ml.g5.2xlarge", "cpu_util_pct": 30.0, "gpu_util_pct": 20.0, "memory_util_pct": 40.0}
    VariantHour.objects.bulk_create(
        hour_rows(ranker, [h for h in hours if h % 3], start, instance_hours=2, invocations=100.0, **gpu)
        + hour_rows(ranker, [h for h in hours if not h % 3], start, instance_hours=1, invocations=100.0, **gpu)
    )
    serverless = make_endpoint(owner, "sentiment-serverless", instance_type="", serverless_memory_mb=2048)
    VariantHour.objects.bulk_create(
        hour_rows(
            serverless,
            SERVERLESS_HOURS,
            midnight(last_day() - timedelta(days=2)),
            serverless_memory_mb=2048,
            invocations=500.0,
            model_latency_us=80_000.0,
        )
    )
    estimate()
    return {"ranker": ranker, "serverless": serverless}


def days(first: date, last: date, grain: str) -> str:
    return f"from={first}&to={last}&grain={grain}"


def figure_state(page, chart_id: str) -> dict:
    """What Plotly drew: the x range in ms, the right axis, each trace's name, mode, dash and hover notes."""
    return page.evaluate(
        """id => {
            const el = document.getElementById(id), full = el._fullLayout;
            return {
                xrange: full.xaxis.range.map(v => full.xaxis.r2l(v)),
                y2: full.yaxis2 ? {dtick: full.yaxis2.dtick, tickformat: full.yaxis2.tickformat} : null,
                traces: el._fullData.map(t => ({
                    name: t.name, mode: t.mode || null, dash: t.line ? t.line.dash : null, y: t.y,
                    pattern: t.marker && t.marker.pattern ? t.marker.pattern.shape : null,
                    notes: Array.isArray(t.customdata) ? t.customdata.filter(c => typeof c === "string") : [],
                })),
                annotations: (full.annotations || []).map(a => a.text),
            };
        }""",
        chart_id,
    )


def texts(page, selector: str) -> list[str]:
    return [text.strip() for text in page.locator(selector).all_text_contents()]


def shot(page, name: str):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"charts-{name}.png"), full_page=True)


@pytest.mark.browser
def test_one_day_is_one_day_wide_and_labelled_by_its_date(page, live_server, alice, fleet):
    log_in(page, live_server)
    page.goto(f"{live_server.url}/?{days(last_day(), last_day(), 'day')}")
    wait_for_charts(page, "trend-chart")
    state = figure_state(page, "trend-chart")
    width_ms = state["xrange"][1] - state["xrange"][0]
    assert 0 < width_ms < 2 * DAY_MS
    labels = texts(page, "#trend-chart .xtick text")
    assert labels == [str(last_day())]
    plot_px = page.locator("#trend-chart .nsewdrag").first.bounding_box()["width"]
    bar_px = page.locator("#trend-chart .bars .point path").first.bounding_box()["width"]
    assert bar_px > plot_px / 2  # the day's bar fills its day (it was a 1 ms sliver)
    legend = texts(page, "#trend-chart .legendtext")
    assert charts.RANGE_NAME in legend and "Operational CO2e, location-based (kg)" in legend
    shot(page, "one-day")
    assert page.console_errors == []


@pytest.mark.browser
def test_the_serverless_endpoint_explains_its_empty_utilization_and_marks_sparse_points(
    page, live_server, alice, fleet
):
    log_in(page, live_server)
    first = last_day() - timedelta(days=2)
    page.goto(f"{live_server.url}/endpoints/{fleet['serverless'].pk}/?{days(first, last_day(), 'hour')}")
    wait_for_charts(page, "utilization-chart", "footprint-chart", "intensity-chart")
    assert texts(page, "#utilization-chart .annotation-text") == [charts.SERVERLESS_UTILIZATION]
    assert figure_state(page, "utilization-chart")["traces"] == []
    intensity = figure_state(page, "intensity-chart")["traces"]
    assert "markers" in intensity[0]["mode"]  # 3 points among gaps: each one visible
    assert page.locator("#intensity-chart .scatterlayer .point").count() == len(SERVERLESS_HOURS)
    footprint = figure_state(page, "footprint-chart")["traces"]
    energy = next(trace for trace in footprint if trace["name"] == "Energy (kWh)")
    assert "markers" in energy["mode"]
    shot(page, "serverless")
    assert page.console_errors == []


@pytest.mark.browser
def test_instance_counts_have_whole_number_ticks_and_a_partial_last_day_is_marked(page, live_server, alice, fleet):
    log_in(page, live_server)
    first = last_day() - timedelta(days=2)
    page.goto(f"{live_server.url}/endpoints/{fleet['ranker'].pk}/?{days(first, last_day(), 'day')}")
    wait_for_charts(page, "utilization-chart", "footprint-chart")
    state = figure_state(page, "utilization-chart")
    assert state["y2"]["dtick"] >= 1 and state["y2"]["tickformat"] == "d"
    ticks = texts(page, "#utilization-chart .y2tick text")
    assert ticks and all(re.fullmatch(r"\d+", tick) for tick in ticks), ticks  # 0, 1, 2: never 0.421
    dashed = [trace for trace in state["traces"] if trace["dash"] == "dash" and "CPU" in trace["name"]]
    assert dashed, "the CPU line's partial last day is dashed"
    notes = {note for trace in state["traces"] for note in trace["notes"] if note}
    assert notes == {"<br>partial: 25 % of the day collected"}
    assert charts.PARTIAL_CAPTION in state["annotations"]
    assert charts.PARTIAL_CAPTION in texts(page, "#utilization-chart .annotation-text")
    shot(page, "partial-day")
    assert page.console_errors == []


def expected_week_notes(first: date, last: date) -> set[str]:
    """The hover notes of the weeks (from Monday) that the custom range of days, or the data (no collector ran
    here: collected means from the first hour with data to the hour after the last), cuts: each week's share."""
    hours = VariantHour.objects.order_by("hour").values_list("hour", flat=True)
    begin = max(datetime.combine(first, datetime.min.time(), UTC), hours.first())
    end = min(datetime.combine(last + timedelta(days=1), datetime.min.time(), UTC), hours.last() + timedelta(hours=1))
    monday = datetime.combine(first - timedelta(days=first.weekday()), datetime.min.time(), UTC)
    notes = set()
    while monday < end:
        inside = min(end, monday + timedelta(days=7)) - max(begin, monday)
        if timedelta(0) < inside < timedelta(days=7):
            notes.add(f"<br>partial: {100 * inside / timedelta(days=7):.0f} % of the week collected")
        monday += timedelta(days=7)
    return notes


@pytest.mark.browser
def test_weeks_the_period_cuts_are_hatched_with_their_share(page, live_server, alice, fleet):
    first = last_day() - timedelta(days=RANKER_DAYS)
    log_in(page, live_server)
    page.goto(f"{live_server.url}/?{days(first, last_day(), 'week')}")
    wait_for_charts(page, "trend-chart")
    state = figure_state(page, "trend-chart")
    (hatched,) = [t for t in state["traces"] if t["name"] == "Operational CO2e, location-based (kg) (partial)"]
    assert hatched["pattern"] == "/" and hatched["y"][0] is not None and hatched["y"][-1] is not None  # both ends
    assert {note for note in hatched["notes"] if note} == expected_week_notes(first, last_day())
    assert page.locator("#trend-chart defs pattern").count() > 0  # the hatching is drawn, not only configured
    assert charts.PARTIAL_CAPTION in texts(page, "#trend-chart .annotation-text")
    shot(page, "partial-weeks")
    assert page.console_errors == []
