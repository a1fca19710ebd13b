"""The screenshot set: every page at 1,440 px and 390 px wide, on the demo fleet collected from the simulated AWS
by the real collectors, saved to test-artifacts/pages/<name>-1440.png and -390.png for a person to look at.

Each page must answer its status, show its main heading, draw its charts with their titles inside them (at 390 px
static/js/charts.js wraps a long title), log no console error, and at 1,440 px fit the window (no horizontal
scrolling of the document)."""

from datetime import date, timedelta

import pytest

from collectors import runner
from collectors.models import AwsAccount, Endpoint
from dashboard.footprint import estimates as footprint
from dashboard.recommend import engine
from tests.collectors.conftest import aws_env, prod, register  # noqa: F401 - fixtures
from tests.web.conftest import ARTIFACTS
from tests.web.test_dashboard_browser import log_in

WIDTHS = (1440, 390)
HEIGHT = 900
OVERFLOW_TOLERANCE_PX = 2  # sub-pixel rounding of widths, not a scrolled column
PAGES_DIR = ARTIFACTS / "pages"
DRAWN_MS = 60_000  # bounds a hang only: a loaded 2-core machine draws Plotly slowly


@pytest.fixture
def demo_fleet(prod, teams):
    """The demo fleet's production account in two regions, collected, estimated and recommended on."""
    for region in ("us-east-1", "eu-west-1"):
        for source in ("inventory", "utilization", "log_groups"):
            runner.run(prod, region, source)
    footprint.estimate_pending()
    engine.recompute(teams[0])
    return prod


def page_list(sandbox, account: AwsAccount) -> list[tuple[str, str, int]]:
    """(name, path, expected status) of every page in the set, logged in unless the name says otherwise."""
    last = date.fromisoformat(sandbox["seeded_at"][:10])
    week = f"from={last - timedelta(days=6)}&to={last}"
    month = f"from={last - timedelta(days=27)}&to={last}"

    def endpoint(name):
        return f"/endpoints/{Endpoint.objects.get(account=account, name=name).pk}/?{week}"

    return [
        ("overview-day", f"/?{week}&grain=day", 200),
        ("overview-week", f"/?{month}&grain=week", 200),
        ("endpoints", f"/endpoints/?{week}", 200),
        ("endpoint-instance", endpoint("fraud-scoring"), 200),
        ("endpoint-serverless", endpoint("sentiment-serverless"), 200),
        ("endpoint-async", endpoint("doc-summarizer-async"), 200),
        ("storage", "/storage/", 200),
        ("recommendations", "/recommendations/", 200),
        ("notifications", "/alerts/", 200),
        ("digest-preview", "/digests/", 200),
        ("tokens", "/api-tokens/", 200),
        ("methodology", "/methodology/", 200),
        ("accounts", "/aws/accounts/", 200),
        ("account", f"/aws/accounts/{account.pk}/", 200),
        ("collection-health", "/collection/", 200),
        ("not-found", "/no-such-page/", 404),
    ]


def charts_drawn(page) -> None:
    page.wait_for_function(
        "[...document.querySelectorAll('.chart')].every(c => c.dataset.rendered === 'true')", timeout=DRAWN_MS
    )


def visit(page, url: str, name: str, status: int, width: int) -> list[str]:
    """Open one page, save its screenshot, and return what is wrong with it (nothing, for a good page)."""
    page.console_errors.clear()
    response = page.goto(url)
    charts_drawn(page)
    PAGES_DIR.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(PAGES_DIR / f"{name}-{width}.png"), full_page=True)
    problems = []
    if response.status != status:
        problems.append(f"status {response.status}, expected {status}")
    if page.locator("main h1").count() != 1 or not page.locator("main h1").inner_text().strip():
        problems.append("no main heading (one h1 in main)")
    # A page answered with 404 is one console error the browser reports for it; nothing else may fail.
    errors = [e for e in page.console_errors if not (status == 404 and "status of 404" in e)]
    if errors:
        problems.append(f"console errors {errors}")
    clipped = page.evaluate(
        """() => [...document.querySelectorAll('.chart')].filter(chart => {
            const title = chart.querySelector('.gtitle'), box = chart.getBoundingClientRect();
            if (!title) { return false; }
            const text = title.getBoundingClientRect();
            return text.left < box.left || text.right > box.right;
        }).length"""
    )
    if clipped:
        problems.append(f"{clipped} chart title(s) run off the screen")
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    if width == 1440 and scroll_width > width + OVERFLOW_TOLERANCE_PX:
        problems.append(f"scrolls sideways: {scroll_width} px wide")
    return [f"{name} at {width} px: {problem}" for problem in problems]


def watched_page(context):
    """A page of ``context`` that keeps its console errors in ``page.console_errors`` (as conftest's ``page``)."""
    context.set_default_timeout(DRAWN_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.console_errors = errors
    return page


@pytest.mark.browser
def test_every_page_renders_at_desktop_and_phone_widths(browser, live_server, alice, demo_fleet, sandbox):
    pages = page_list(sandbox, demo_fleet)
    problems = []
    for width in WIDTHS:
        context = browser.new_context(viewport={"width": width, "height": HEIGHT})
        page = watched_page(context)
        problems += visit(page, f"{live_server.url}/accounts/login/", "login", 200, width)
        log_in(page, live_server)
        for name, path, status in pages:
            problems += visit(page, f"{live_server.url}{path}", name, status, width)
        context.close()
    assert problems == []
    assert len(list(PAGES_DIR.glob("*-1440.png"))) >= len(pages) + 1
