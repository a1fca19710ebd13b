"""The Recommendations page: the headline is the one total (``recommend.totals.savings_total``), minor storage items
are one collapsed line, the list is grouped and paged in the URL, bad parameters are named, the header names the
status shown; and in headless Chromium at 1,440 and 390 px."""

import re

import pytest
from django.db import connection
from django.template.defaultfilters import floatformat
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from dashboard.recommend.models import Recommendation
from dashboard.recommend.totals import MINOR_CO2E_KG, savings_total
from dashboard.web.views.recommendations import PAGE_SIZE
from tests.recommend.makers import Kind, Status, rec
from tests.web import factories
from tests.web.conftest import ARTIFACTS
from tests.web.test_dashboard_browser import log_in


@pytest.fixture
def fleet(teams):
    """Two alternatives for one variant, ``PAGE_SIZE + 5`` right-sizings, and three minor log groups."""
    team = teams[0]
    acct = factories.account(team, "111122223333", "prod")
    big = factories.endpoint(acct, "big", hours=2, tags={"team": "search"})
    rec(team, acct, Kind.OVERPROVISIONED, 50.0, 400.0, endpoint=big)
    rec(team, acct, Kind.SILICON, 30.0, 250.0, endpoint=big)
    for n in range(PAGE_SIZE + 5):
        endpoint = factories.endpoint(acct, f"model-{n:02d}", hours=1)
        rec(team, acct, Kind.OVERPROVISIONED, 1.0 + n, 10.0 + n, endpoint=endpoint)
    for _ in range(3):
        rec(team, acct, Kind.LOG_RETENTION, MINOR_CO2E_KG / 10, 0.001)
    return team


def get(client, **params):
    return client.get(reverse("recommendations"), params)


def cards(html: str) -> list[str]:
    return re.findall(r'<article class="card rec [^"]*" id="rec-(\d+)"', html)


def test_the_headline_is_the_one_total_counting_one_alternative_per_variant(client, alice, fleet):
    client.force_login(alice)
    html = get(client).content.decode()
    recs = Recommendation.objects.filter(team=fleet, status=Status.OPEN).select_related("endpoint")
    totals = savings_total(recs)
    assert f'data-figure="total_co2e_kg">{floatformat(totals.co2e_kg, "1g")} kg CO2e<' in html
    assert f'data-figure="total_usd">${floatformat(totals.usd, "0g")}<' in html
    assert totals.co2e_kg < sum(r.monthly_co2e_kg_saved for r in recs) - 29  # silicon's 30 kg is not added
    assert "counting one alternative per variant" in html and "Open recommendations shown save" in html


def test_the_header_names_the_status_shown(client, alice, fleet):
    client.force_login(alice)
    Recommendation.objects.filter(team=fleet, kind=Kind.SILICON).update(status=Status.RESOLVED)
    html = get(client, status="resolved").content.decode()
    assert "Resolved recommendations shown save" in html and "Open recommendations" not in html
    for status in ("any", ""):  # the menu's "Any", and an empty value from an older link
        assert "Recommendations of any status shown would save" in get(client, status=status).content.decode()
    assert "status=any&amp;" in get(client, status="any").content.decode()  # paging keeps it
    assert "Recommendations that no longer apply shown would save" in get(client, status="withdrawn").content.decode()


def test_minor_storage_items_are_one_collapsed_line_counted_and_summed(client, alice, fleet):
    client.force_login(alice)
    response = get(client)
    html = response.content.decode()
    minor = Recommendation.objects.filter(team=fleet, kind=Kind.LOG_RETENTION)
    assert re.search(r'<details class="card rec-minor" id="rec-minor">\s*<summary><strong>3 minor storage items', html)
    summed = floatformat(sum(r.monthly_co2e_kg_saved for r in minor), 3)
    assert f'data-figure="minor_co2e_kg">{summed} kg CO2e<' in html
    assert 'data-figure="minor_usd">$0.00<' in html  # 3 x $0.001
    assert not {str(r.pk) for r in minor} & set(cards(html))  # no card each
    assert all(r.title in html for r in minor)  # named inside the collapsed line


def test_the_list_is_paged_and_grouped_in_the_url(client, alice, fleet):
    client.force_login(alice)
    first = get(client, kind="overprovisioned").content.decode()
    second = get(client, kind="overprovisioned", page="2").content.decode()
    assert len(cards(first)) == PAGE_SIZE and len(cards(second)) == 26 - PAGE_SIZE
    assert not set(cards(first)) & set(cards(second))
    assert 'href="?kind=overprovisioned&amp;status=open&amp;sort=co2e&amp;group=kind&amp;page=2"' in first
    assert "Page 2 of 2" in second and "(continued)" in second
    by_endpoint = get(client, group="endpoint").content.decode()
    assert re.search(r'<section class="rec-group" id="group-endpoint-\d+">\s*<h2>big <span', by_endpoint)
    assert "2 recommendations" in by_endpoint  # big's two alternatives, together


def test_a_link_to_one_recommendation_lands_on_the_page_that_shows_it(client, alice, fleet):
    client.force_login(alice)
    smallest = Recommendation.objects.filter(team=fleet, kind=Kind.OVERPROVISIONED).order_by("monthly_co2e_kg_saved")
    html = get(client, rec=str(smallest[0].pk)).content.decode()
    assert str(smallest[0].pk) in cards(html) and "Page 2 of 2" in html
    minor = Recommendation.objects.filter(team=fleet, kind=Kind.LOG_RETENTION).first()
    html = get(client, rec=str(minor.pk)).content.decode()
    assert 'id="rec-minor" open>' in html and f'<li id="rec-{minor.pk}">' in html
    gone = get(client, rec=str(smallest[0].pk), status="dismissed")
    assert set(gone.context["errors"]) == {"rec"} and "is not in this list" in gone.content.decode()


@pytest.mark.parametrize(
    ("params", "named", "message"),
    [
        ({"group": "colour"}, "group", "Group must be one of kind, endpoint."),
        ({"page": "0"}, "page", "Page must be a whole number from 1."),
        ({"page": "two"}, "page", "Page must be a whole number from 1."),
        ({"page": "9"}, "page", "Page 9 does not exist: there are 2."),
        ({"team": "nobody"}, "team", "No endpoint has the team tag &#x27;nobody&#x27;."),
        ({"rec": "x1"}, "rec", "Rec is the number of a recommendation (as in #rec-12)."),
    ],
)
def test_a_bad_parameter_is_named_on_the_page(client, alice, fleet, params, named, message):
    client.force_login(alice)
    response = get(client, **params)
    assert response.status_code == 200 and set(response.context["errors"]) == {named}
    assert message in response.content.decode()


def test_the_team_filter_is_the_shared_menu_of_the_teams_tags(client, alice, fleet):
    client.force_login(alice)
    html = get(client, team="search").content.decode()
    assert '<select id="f-team" name="team">' in html and '<option value="search" selected>' in html
    assert len(cards(html)) == 2  # big's two alternatives; the untagged endpoints' are filtered out


def test_the_number_of_queries_does_not_grow_with_the_list(client, alice, fleet):
    client.force_login(alice)
    get(client)  # the session and team are warm
    with CaptureQueriesContext(connection) as small:
        get(client, group="endpoint")
    acct = Recommendation.objects.filter(team=fleet).first().account
    for n in range(10):
        rec(fleet, acct, Kind.SILICON, 2.0, 5.0, endpoint=factories.endpoint(acct, f"more-{n}", hours=1))
    with CaptureQueriesContext(connection) as large:
        get(client, group="endpoint", page="2")
    assert len(large.captured_queries) == len(small.captured_queries)


@pytest.mark.browser
def test_the_page_in_chromium_at_1440_and_390_px(page, live_server, alice, fleet):
    page.set_viewport_size({"width": 1440, "height": 900})
    log_in(page, live_server)
    page.goto(f"{live_server.url}/recommendations/")
    totals = savings_total(Recommendation.objects.filter(team=fleet, status=Status.OPEN).select_related("endpoint"))
    assert page.inner_text("[data-figure=total_co2e_kg]") == f"{floatformat(totals.co2e_kg, '1g')} kg CO2e"
    scroller = page.locator("#recommendations-card .scroll").bounding_box()
    for header in ("USD / month saved", "Confidence", "Status"):  # in view without scrolling sideways
        box = page.locator("#recommendations thead th", has_text=header).first.bounding_box()
        assert box is not None and box["x"] + box["width"] <= min(1440, scroller["x"] + scroller["width"]), header
    evidence = page.locator("details.rec-evidence").first
    assert not evidence.locator("dl.evidence").is_visible()
    evidence.locator("summary").click()
    assert evidence.locator("dl.evidence").is_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "recommendations-1440.png"), full_page=True)
    page.click("nav.pager a[rel=next]")
    page.wait_for_url("**page=2**")
    assert page.inner_text("#page-of") == "Page 2 of 2"
    assert page.inner_text("[data-figure=total_co2e_kg]") == f"{floatformat(totals.co2e_kg, '1g')} kg CO2e"
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/recommendations/")
    page.screenshot(path=str(ARTIFACTS / "recommendations-390.png"), full_page=True)
    assert page.console_errors == []
