"""The Content-Security-Policy: on every response, and no page breaks it in a real browser (Plotly charts, the
team switcher, the digest preview, the API reference)."""

import pytest
from django.urls import reverse

from tests.web import factories

PASSWORD = "correct horse battery staple"
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} ${event.blockedURI} ${event.sourceFile}:${event.lineNumber}`);
});
"""


@pytest.fixture
def fleet(teams, alice):
    from dashboard.teams.models import Membership

    prod = factories.account(teams[0], "111122223333", "prod")
    ranker = factories.endpoint(
        prod, "ranker", instance_type="ml.g5.2xlarge", gpu_util_pct=40, hours=72, tags={"team": "recsys"}
    )
    factories.change_type(ranker, "AllTraffic", "ml.g5.xlarge", hours_ago=10)
    factories.endpoint(prod, "scorer", region="eu-west-1", instance_type="ml.c5.xlarge", hours=72)
    factories.estimate()
    Membership.objects.create(team=teams[1], user=alice)  # two teams: the switcher is shown
    return ranker


@pytest.mark.parametrize("url", ["/", "/accounts/login/", "/api/v1/accounts/", "/healthz", "/admin/login/"])
def test_every_response_carries_the_policy(client, alice, url):
    client.force_login(alice)
    policy = client.get(url)["Content-Security-Policy"]
    for directive in (
        "default-src 'self'",
        "script-src 'self';",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ):
        assert directive in policy + ";", directive
    assert "unsafe-eval" not in policy and "script-src 'self' 'unsafe-inline'" not in policy


def test_no_template_has_inline_script_or_event_handlers(client, alice, fleet):
    client.force_login(alice)
    for url in ("/", reverse("endpoint", args=[fleet.pk]), "/endpoints/", "/digests/", "/api-tokens/", "/api/v1/docs/"):
        page = client.get(url).content.decode()
        assert " onchange=" not in page and " onclick=" not in page and "javascript:" not in page, url
        for script in page.split("<script")[1:]:
            opening = script.split(">", 1)[0]
            assert "src=" in opening or 'type="application/json"' in opening, (url, opening)


@pytest.mark.browser
def test_pages_run_under_the_policy_without_a_violation(page, live_server, alice, fleet):
    page.add_init_script(RECORD_VIOLATIONS)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("h1")
    for path, ready in (
        ("/", "#trend-chart[data-rendered=true] .main-svg"),
        (f"/endpoints/{fleet.pk}/", "#utilization-chart[data-rendered=true] .main-svg"),
        ("/digests/", "iframe"),
        ("/api/v1/docs/", ".swagger-ui .info"),
    ):
        page.goto(f"{live_server.url}{path}")
        page.wait_for_selector(ready, timeout=20000)
        page.wait_for_timeout(300)  # late violations (fonts, images) are reported asynchronously
        assert page.evaluate("window.__cspViolations") == [], path
    page.goto(f"{live_server.url}/endpoints/")
    with page.expect_navigation():
        page.select_option("select[name=team]", label="Other")  # the switcher's script is a static file now
    assert page.inner_text("h1").endswith("Other") or "Other" in page.inner_text(".who")
    assert page.evaluate("window.__cspViolations") == []
    assert [error for error in page.console_errors if "Content Security Policy" in error] == []
    assert page.console_errors == []
