"""The digest preview in headless Chromium: a week before collected on 4 of its 7 days is named as such, changes are
per collected day, and an endpoint that went idle mid-week is listed with its start and how long it lasted."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from dashboard.notify import digest
from dashboard.notify.models import NotificationSettings
from tests.notify.test_truthful_periods import endpoint
from tests.web import factories
from tests.web.conftest import browser, page  # noqa: F401 - fixtures
from tests.web.test_dashboard_browser import log_in, shot

D = dt.timedelta(days=1)


@pytest.mark.browser
def test_the_preview_names_a_partial_week_and_the_endpoint_that_went_idle(page, live_server, alice, teams):  # noqa: F811
    NotificationSettings.objects.create(team=teams[0])
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    monday = dt.datetime.combine(digest.week_of(now, "UTC"), dt.time(), dt.UTC)  # the preview's week
    owner = factories.account(teams[0], "111122223333", "prod")
    first = monday - 4 * D  # the Thursday of the week before: 4 of its 7 days collected
    endpoint(owner, "ranker", first, end=now)
    endpoint(owner, "went-quiet", first, [(monday + 2.5 * D, None)], end=now)  # quiet from Wednesday 12:00
    factories.estimate()

    log_in(page, live_server)
    page.goto(f"{live_server.url}{reverse('digest-preview')}")
    page.wait_for_selector("iframe.digest-frame")
    mail = page.frame_locator("iframe.digest-frame")
    assert mail.locator('[data-coverage="previous"]').inner_text() == "4 of 7 days collected"
    assert mail.locator('[data-coverage="this"]').inner_text() == "7 of 7 days collected"
    assert "per collected day" in mail.locator("#figures").inner_text()
    idle = mail.locator("#newly-idle").inner_text()
    assert "went-quiet" in idle and "ranker" not in idle
    assert f"idle since {monday + 2.5 * D:%a %-d %b} 12:00 UTC" in idle
    assert "still idle at the week's end: 4 days 12 h (108 h)" in idle
    shot(page, "digest-preview-partial-week")
    assert page.console_errors == []
