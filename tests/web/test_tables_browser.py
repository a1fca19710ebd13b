"""Tables, search, the date picker and the layout in headless Chromium, on the demo fleet collected from the
simulated AWS: a click on a header reorders the rows, a typed search narrows them, the date picker puts a range in
the URL and the heading, the key columns fit a 1,440 px screen, a phone-width page does not overflow, the digest
preview shows the whole email, and a destructive button asks first."""

from datetime import date, timedelta

import pytest
from django.urls import reverse

from dashboard.notify.models import Channel
from tests.collectors.conftest import aws_env, prod, register  # noqa: F401 - fixtures
from tests.web.html import number
from tests.web.test_dashboard_browser import collected, log_in, seeded_week, shot  # noqa: F401 - fixture, helpers

LAPTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}


def column_texts(page, table_id: str, label: str) -> list[str]:
    headers = [text.split(" ▲")[0].split(" ▼")[0] for text in page.locator(f"#{table_id} thead th").all_inner_texts()]
    index = headers.index(label) + 1
    return page.locator(f"#{table_id} tbody tr td:nth-child({index})").all_inner_texts()


def energies(page) -> list[float | None]:
    return [number(text) for text in column_texts(page, "endpoints", "Energy (kWh)")]


@pytest.mark.browser
def test_a_click_on_a_header_sorts_the_endpoints_and_a_second_click_reverses(page, live_server, alice, collected):
    log_in(page, live_server)
    page.goto(f"{live_server.url}{reverse('endpoints')}")
    assert len(energies(page)) > 2
    page.click("#endpoints thead th >> text=Energy (kWh)")
    page.wait_for_url("**sort=-energy_kwh**")
    largest_first = energies(page)
    assert largest_first == sorted(largest_first, reverse=True)
    assert page.get_attribute("#endpoints th[aria-sort]", "aria-sort") == "descending"
    page.click("#endpoints thead th >> text=Energy (kWh)")
    page.wait_for_url("**sort=energy_kwh**")
    assert energies(page) == sorted(largest_first)
    page.click("#endpoints thead th >> text=Endpoint")
    page.wait_for_url("**sort=endpoint**")
    names = column_texts(page, "endpoints", "Endpoint")
    assert names == sorted(names, key=str.casefold)
    assert page.console_errors == []


@pytest.mark.browser
def test_typing_a_search_narrows_the_endpoints(page, live_server, alice, collected):
    log_in(page, live_server)
    page.goto(f"{live_server.url}{reverse('endpoints')}")
    everyone = column_texts(page, "endpoints", "Endpoint")
    term = everyone[0][:4].upper()
    expected = [name for name in everyone if term.casefold() in name.casefold()]
    assert 0 < len(expected) < len(everyone) or len(everyone) == 1
    page.fill("#f-q", term)
    page.press("#f-q", "Enter")
    page.wait_for_url(f"**q={term}**")
    assert sorted(column_texts(page, "endpoints", "Endpoint")) == sorted(expected)
    assert f"{len(expected)} of {len(everyone)} endpoints" in page.inner_text("#endpoint-count")
    assert page.input_value("#f-q") == term
    assert page.console_errors == []


@pytest.mark.browser
def test_the_date_picker_puts_the_range_in_the_url_and_the_heading(page, live_server, alice, collected, sandbox):
    log_in(page, live_server)
    page.goto(f"{live_server.url}/")
    last = date.fromisoformat(sandbox["seeded_at"][:10])
    start, end = last - timedelta(days=5), last - timedelta(days=1)
    page.fill("#f-from", start.isoformat())
    page.fill("#f-to", end.isoformat())
    assert page.input_value("#f-period") == "custom"  # chosen for the user by the date
    page.click("form.filters button[type=submit]")
    page.wait_for_url(f"**from={start}**")
    assert "period=custom" in page.url and f"to={end}" in page.url
    assert f"{start:%d %b %Y} – {end:%d %b %Y}" in page.inner_text("#view-range")
    assert page.input_value("#f-from") == start.isoformat() and page.input_value("#f-to") == end.isoformat()
    page.select_option("#f-period", "7d")  # back to a preset: the dates leave the URL
    page.wait_for_url("**period=7d**")
    assert "from=" not in page.url
    assert page.console_errors == []


def right_edge(page, selector: str) -> float:
    box = page.locator(selector).bounding_box()
    assert box is not None, selector
    return box["x"] + box["width"]


@pytest.mark.browser
def test_the_last_columns_are_on_screen_at_1440_px(browser, live_server, alice, collected, sandbox):
    context = browser.new_context(viewport=LAPTOP)
    page = context.new_page()
    try:
        log_in(page, live_server)
        page.goto(f"{live_server.url}{reverse('endpoints')}?{seeded_week(sandbox)}")
        assert right_edge(page, "#endpoints thead th:last-child") <= min(
            LAPTOP["width"], right_edge(page, "#endpoints-card .scroll")
        )
        shot(page, "endpoints-1440")
        for group in ("team", "endpoint"):
            page.goto(f"{live_server.url}/?{seeded_week(sandbox)}&group={group}")
            for table_id in ("breakdown", "top-emitters", "trend"):
                visible = min(LAPTOP["width"], right_edge(page, f"#{table_id}-card .scroll"))
                assert right_edge(page, f"#{table_id} thead th:last-child") <= visible, (group, table_id)
        shot(page, "overview-1440")
    finally:
        context.close()


@pytest.mark.browser
def test_pages_fit_a_phone_and_tables_scroll_inside_their_card(browser, live_server, alice, collected, sandbox):
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    try:
        log_in(page, live_server)
        paths = ["home", "endpoints", "storage", "notifications", "digest-preview", "api-tokens", "aws-accounts"]
        for path in [*map(reverse, paths), reverse("collection-health"), reverse("methodology")]:
            page.goto(f"{live_server.url}{path}?{seeded_week(sandbox)}")
            overflow = page.evaluate("document.documentElement.scrollWidth")
            assert overflow <= PHONE["width"], path
        page.goto(f"{live_server.url}{reverse('endpoints')}?{seeded_week(sandbox)}")
        scroller = page.locator("#endpoints-card .scroll")
        assert scroller.evaluate("node => node.scrollWidth > node.clientWidth")  # the table scrolls, not the page
        scroller.evaluate("node => { node.scrollLeft = node.scrollWidth; }")
        first = page.locator("#endpoints tbody tr:first-child td:first-child").bounding_box()
        assert first is not None and first["x"] >= 0 and first["x"] < PHONE["width"] / 2  # the name stays in view
        shot(page, "endpoints-390")
    finally:
        context.close()


@pytest.mark.browser
def test_the_digest_preview_shows_the_whole_email(page, live_server, alice, collected):
    log_in(page, live_server)
    page.goto(f"{live_server.url}{reverse('digest-preview')}")
    page.wait_for_selector("iframe.digest-frame[data-fitted=true]")
    frame = page.locator("iframe.digest-frame")
    content = frame.evaluate("node => node.contentDocument.documentElement.scrollHeight")
    assert content > 200
    assert frame.evaluate("node => node.clientHeight") >= content  # nothing clipped, no inner scroll bar
    shot(page, "digest-preview")
    assert page.console_errors == []


@pytest.mark.browser
def test_removing_a_channel_asks_first(page, live_server, alice, teams):
    channel = Channel.objects.create(team=teams[0], kind=Channel.Kind.EMAIL, name="ops", target="ops@example.com")
    log_in(page, live_server)
    page.goto(f"{live_server.url}{reverse('notifications')}")
    remove = page.locator("#channels button.danger", has_text="Remove")
    questions = []
    page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.dismiss()))
    remove.click()
    assert questions and "Remove the channel ops?" in questions[0]
    assert Channel.objects.filter(pk=channel.pk).exists()  # dismissed: nothing removed
    page.once("dialog", lambda dialog: dialog.accept())
    remove.click()
    page.wait_for_selector(".messages li")
    assert "Removed" in page.inner_text(".messages")
    assert not Channel.objects.filter(pk=channel.pk).exists()
    assert page.console_errors == []
