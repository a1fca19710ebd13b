"""The Methodology page's "What changed": the two-version table for the logged-in user's own team (in headless
Chromium), the list of changes, the re-estimation progress, and what it says when there is nothing to compare."""

import dataclasses

import pytest
from django.core.cache import cache
from django.utils import timezone

import estimator
from collectors.models import VariantHour
from dashboard.footprint import comparison
from dashboard.footprint.estimates import ROW_FIELDS, usage_frame
from dashboard.footprint.models import EstimateFailure, VariantHourEstimate
from dashboard.web.views.methodology import CHANGES
from estimator.methods import PREVIOUS_DEFAULT
from estimator.methods.ccf import CCF
from tests.web import factories
from tests.web.conftest import ARTIFACTS
from tests.web.html import number, table

PASSWORD = "correct horse battery staple"
PAIR = (PREVIOUS_DEFAULT, CCF)  # two different methodologies, so the table has numbers whatever `default` ships


@pytest.fixture(autouse=True)
def empty_cache(teams):
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def fleets(teams):
    return factories.two_team_fleet(teams)


@pytest.fixture
def pair(monkeypatch):
    monkeypatch.setattr(comparison, "compared_pair", lambda: PAIR)
    return PAIR


def sums(team, methodology) -> tuple[int, dict]:
    """The team's 30-day totals, straight from the estimator on its rows."""
    start, stop = comparison.window(timezone.now().date())
    hours = VariantHour.objects.filter(endpoint__account__team=team, hour__gte=start, hour__lt=stop)
    rows = list(hours.values(*ROW_FIELDS))
    estimates = estimator.estimate(usage_frame(rows), methodology)
    return len(rows), {column: float(estimates[column].sum()) for column, _, _ in comparison.MEASURES}


def log_in(page, live_server, username="alice"):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("h1")


def cell_values(page) -> dict[str, tuple]:
    values = {}
    for row in page.locator("#fleet-comparison tbody tr").all():
        cells = row.locator("td").all()
        values[row.get_attribute("data-column")] = tuple(number(cell.inner_text()) for cell in cells)
    return values


@pytest.mark.browser
def test_the_table_shows_both_versions_for_the_users_own_team_only(page, live_server, alice, fleets, pair):
    log_in(page, live_server)
    page.goto(f"{live_server.url}/methodology/")
    heading = page.inner_text("#what-changed h3")
    assert heading == f"Your fleet, last 30 days: default 1.0.0 vs ccf {CCF.version}"
    headers = page.locator("#fleet-comparison thead th").all_inner_texts()
    assert headers == ["Measure (unit)", "default 1.0.0", f"ccf {CCF.version}", "Change (%)"]
    labels = page.locator("#fleet-comparison tbody th").all_inner_texts()
    assert labels == [text for _, text, _ in comparison.MEASURES] and all("(kg)" in t or "(kWh)" in t for t in labels)
    hours, old = sums(fleets[0], PAIR[0])
    _, new = sums(fleets[0], PAIR[1])
    _, theirs = sums(fleets[1], PAIR[1])
    assert f"the same {hours} collected variant-hours" in page.inner_text("#what-changed")
    shown = cell_values(page)
    for column, _, both in comparison.MEASURES:
        before, after, change = shown[column]
        assert after == pytest.approx(new[column], abs=5e-4)
        if both:
            assert before == pytest.approx(old[column], abs=5e-4)
            if old[column]:
                assert change == pytest.approx((new[column] / old[column] - 1) * 100, abs=0.05)
            else:
                assert change is None
        else:
            assert before is None and change is None
    for column in ("energy_kwh", "co2e_kg"):  # the other team's fleet is neither shown nor added in
        assert shown[column][1] != pytest.approx(theirs[column], abs=5e-4)
        assert shown[column][1] != pytest.approx(new[column] + theirs[column], abs=5e-4)
    assert page.console_errors == []
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator("#what-changed").screenshot(path=str(ARTIFACTS / "methodology-what-changed.png"))


@pytest.mark.browser
def test_the_page_shows_how_much_history_is_re_estimated(page, live_server, alice, fleets):
    factories.estimate()
    mine = VariantHourEstimate.objects.filter(variant_hour__endpoint__account__team=fleets[0])
    mine.filter(pk__in=list(mine.values_list("pk", flat=True)[:240])).update(methodology_version="0.9.0")
    total = VariantHour.objects.filter(endpoint__account__team=fleets[0]).count()
    log_in(page, live_server)
    page.goto(f"{live_server.url}/methodology/")
    text = " ".join(page.inner_text("#reestimation").split())
    done = total - 240
    version = estimator.METHODOLOGIES["default"].version
    assert text == (
        f"History re-estimated with default {version}: {done:,} of {total:,} hours ({round(done / total * 100)} %); "
        "the rest are re-estimated in the background."
    )


def test_the_same_version_on_both_sides_says_there_is_nothing_to_compare(client, alice, fleets, monkeypatch):
    monkeypatch.setattr(comparison, "compared_pair", lambda: (PREVIOUS_DEFAULT, PREVIOUS_DEFAULT))
    client.force_login(alice)
    page = client.get("/methodology/").content.decode()
    assert "There is no previous version of <code>default 1.0.0</code> to compare with." in page
    assert table(page, "fleet-comparison") == []


def test_with_the_shipped_pair_the_page_compares_or_says_there_is_no_previous_version(client, alice, fleets):
    previous, current = comparison.compared_pair()
    client.force_login(alice)
    page = client.get("/methodology/").content.decode()
    if comparison.same(previous, current):
        assert 'id="no-previous"' in page and table(page, "fleet-comparison") == []
    else:
        assert table(page, "fleet-comparison")[0][1:3] == [comparison.label(previous), comparison.label(current)]


def test_the_changes_of_the_new_version_are_listed_old_to_new_with_sources(client, alice, fleets, monkeypatch):
    new = dataclasses.replace(PREVIOUS_DEFAULT, version="2.0.0")  # what is listed depends on the version only
    monkeypatch.setattr(comparison, "compared_pair", lambda: (PREVIOUS_DEFAULT, new))
    client.force_login(alice)
    page = client.get("/methodology/").content.decode()
    assert "What changed in 2.0.0" in page
    rows = table(page, "changes")
    assert rows[0] == ["What", "default 1.0.0", "default 2.0.0", "Source"]
    assert len(rows) == 1 + len(CHANGES["2.0.0"]) and all(all(cell for cell in row) for row in rows)
    listed = " ".join(row[0] for row in rows[1:])
    for topic in ("GPU idle", "A10G", "CPU host", "Graviton", "Embodied", "PUE", "Location", "Market", "catalog"):
        assert topic in listed
    assert table(page, "fleet-comparison")[0][1:3] == ["default 1.0.0", "default 2.0.0"]


def test_hours_the_estimator_refused_are_not_said_to_be_pending(client, alice, fleets):
    factories.estimate()
    version = estimator.METHODOLOGIES["default"].version
    hour = VariantHour.objects.filter(endpoint__account__team=fleets[0]).first()
    hour.estimate.delete()
    EstimateFailure.objects.create(variant_hour=hour, methodology_version=version, error="x", failed_at=timezone.now())
    total = VariantHour.objects.filter(endpoint__account__team=fleets[0]).count()
    client.force_login(alice)
    page = client.get("/methodology/").content.decode()
    text = " ".join(page.split('id="reestimation">')[1].split("</p>")[0].split())
    assert f"{total - 1:,} of {total:,} hours" in text and "in the background" not in text
    assert "1 the estimator refused are listed on" in text


def test_a_team_without_usage_is_told_so(client, alice):
    client.force_login(alice)
    page = client.get("/methodology/").content.decode()
    assert "No variant-hours collected yet" in page
    assert table(page, "fleet-comparison") == []
