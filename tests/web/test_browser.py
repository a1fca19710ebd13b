"""Real pages in headless Chromium (Debian's package), driven by Playwright."""

import pytest

from tests.web.conftest import ARTIFACTS


@pytest.mark.browser
def test_a_user_logs_in_and_sees_the_overview(page, live_server, alice):
    page.goto(f"{live_server.url}/")
    assert "/accounts/login/" in page.url
    page.fill("#id_username", "alice")
    page.fill("#id_password", "correct horse battery staple")
    page.click("button[type=submit]")
    page.wait_for_selector("h1")
    assert page.inner_text("h1") == "Overview · ML Platform"
    assert "alice" in page.inner_text(".who")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "overview-logged-in.png"), full_page=True)
    assert page.console_errors == []
    page.click("text=Log out")
    page.wait_for_url("**/accounts/login/")
