"""Errors are JSON everywhere in the API and on /metrics: ``{"detail": "..."}`` for the request as a whole, and
``{"<parameter>": ["..."]}`` naming a bad parameter (``format`` and ``team`` included); /api/v1/ lists the
resources."""

import json
import logging

import pytest
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from dashboard.api.auth import TokenRateThrottle
from dashboard.api.errors import json_under_api, not_found, server_error
from dashboard.api.negotiation import JsonErrors
from dashboard.api.root import RESOURCES
from tests.api.conftest import bearer


def assert_json_detail(response, status: int) -> str:
    """The response is ``status`` with a JSON ``{"detail": "<text>"}`` body; returns the text."""
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == "application/json", response["Content-Type"]
    body = json.loads(response.content)
    assert list(body) == ["detail"] and isinstance(body["detail"], str) and body["detail"], body
    assert "ErrorDetail" not in response.content.decode()
    return body["detail"]


def test_the_api_root_lists_every_resource_with_its_absolute_url(client, fleet, tokens):
    assert_json_detail(client.get("/api/v1/"), 401)  # authenticated like the rest
    body = client.get("/api/v1/", **bearer(tokens["read"])).json()
    assert list(body) == list(RESOURCES)
    assert body["endpoints"] == "http://testserver/api/v1/endpoints/"
    assert body["metrics"] == "http://testserver/metrics"
    assert body["schema"] == "http://testserver/api/v1/schema/" and body["docs"] == "http://testserver/api/v1/docs/"
    for name, url in body.items():
        assert client.get(url, **bearer(tokens["read"])).status_code == 200, name


@pytest.mark.parametrize(
    "accept", [None, "text/plain", "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"]
)
def test_metrics_without_a_token_is_a_json_401(client, fleet, accept):
    headers = {"HTTP_ACCEPT": accept} if accept else {}
    assert_json_detail(client.get("/metrics", **headers), 401)
    assert_json_detail(client.get("/metrics", **bearer("wtsn_unknown"), **headers), 401)


@pytest.mark.parametrize("path", ["/api/v1/schema/", "/api/v1/docs/"])
def test_the_schema_and_its_docs_page_answer_json_errors_too(client, fleet, path):
    assert_json_detail(client.get(path), 401)


def test_a_method_a_resource_lacks_is_a_json_405_on_the_api_and_on_metrics(client, fleet, tokens):
    assert_json_detail(client.post("/metrics", **bearer(tokens["write"])), 405)
    assert_json_detail(client.delete("/api/v1/endpoints/", **bearer(tokens["write"])), 405)


def test_a_read_only_token_writing_is_a_json_403(client, fleet, tokens):
    from dashboard.recommend.models import Recommendation

    rec = Recommendation.objects.filter(team__name="ML Platform").first()
    response = client.patch(
        f"/api/v1/recommendations/{rec.pk}/",
        {"status": "open"},
        content_type="application/json",
        **bearer(tokens["read"]),
    )
    assert "read-only" in assert_json_detail(response, 403)


@pytest.mark.parametrize(
    "path", ["/api/v1/nothing-here/", "/api/v1/schema/extra/", "/api/v1/nothing-here", "/api/v1/x.json"]
)
def test_a_path_under_api_v1_that_is_no_resource_is_a_json_404(client, fleet, tokens, path):
    assert_json_detail(client.get(path, **bearer(tokens["read"])), 404)
    assert_json_detail(client.post(path, **bearer(tokens["read"])), 404)


def test_a_resource_without_its_trailing_slash_still_redirects(client, fleet, tokens):
    response = client.get("/api/v1/endpoints", {"region": "us-east-1"}, **bearer(tokens["read"]))
    assert response.status_code == 301 and response["Location"] == "/api/v1/endpoints/?region=us-east-1"


def test_another_teams_object_is_a_json_404(client, fleet, tokens):
    assert_json_detail(client.get(f"/api/v1/endpoints/{fleet['theirs'].pk}/", **bearer(tokens["read"])), 404)


def test_too_many_requests_is_a_json_429_with_retry_after(client, fleet, tokens, monkeypatch):
    monkeypatch.setattr(TokenRateThrottle, "THROTTLE_RATES", {"token": "2/hour"})
    for _ in range(2):
        assert client.get("/metrics", **bearer(tokens["read"])).status_code == 200
    response = client.get("/metrics", **bearer(tokens["read"]))
    assert_json_detail(response, 429)
    assert int(response["Retry-After"]) > 0


class Broken(JsonErrors, APIView):
    """A view that fails as no view should: what every API view does with an exception it did not expect."""

    authentication_classes: list = []
    permission_classes: list = []
    throttle_classes: list = []

    def get(self, request):
        raise RuntimeError("the unexpected")


def test_an_unexpected_exception_is_a_logged_json_500(caplog):
    with caplog.at_level(logging.ERROR, logger="django.request"):
        response = Broken.as_view()(APIRequestFactory().get("/api/v1/broken/", {"format": "json"}))
    response.render()
    assert response.status_code == 500 and response["Content-Type"] == "application/json"
    assert list(response.data) == ["detail"] and "RuntimeError: the unexpected" in caplog.text


def test_the_site_wide_handlers_answer_json_under_api_and_the_sites_page_elsewhere(rf):
    def page(request, *args):
        from django.http import HttpResponse

        return HttpResponse("<h1>Not found</h1>", status=404)

    handler404 = json_under_api(page, not_found)
    for path in ("/api/", "/api/v2/endpoints/", "/metrics/"):
        assert_json_detail(handler404(rf.get(path), Exception()), 404)
    assert handler404(rf.get("/endpoints/9/"), Exception())["Content-Type"].startswith("text/html")
    assert_json_detail(json_under_api(page, server_error)(rf.get("/api/v1/usage/")), 500)


LISTS = ["accounts", "endpoints", "variants", "usage", "log-groups", "storage", "recommendations", "emissions", "focus"]
OFFERED = {
    "/api/v1/": "json",
    "/api/v1/methodology/": "json",
    "/metrics": "prometheus",
    "/api/v1/schema/": "yaml and json",
    "/api/v1/docs/": "html",
    **{f"/api/v1/{name}/": "json and csv" for name in LISTS},
}


@pytest.mark.parametrize(("url", "formats"), OFFERED.items())
def test_an_unknown_format_is_a_400_naming_format_and_the_formats_there_are(client, fleet, tokens, url, formats):
    response = client.get(url, {"format": "xml"}, **bearer(tokens["read"]))
    assert response.status_code == 400 and response["Content-Type"] == "application/json"
    assert response.json() == {"format": [f"Unknown format 'xml'; this resource has {formats}."]}


def test_an_unknown_format_suffix_is_the_same_400_and_a_known_one_works(client, fleet, tokens):
    read = bearer(tokens["read"])
    response = client.get("/api/v1/accounts.xml", **read)
    assert response.status_code == 400
    assert response.json() == {"format": ["Unknown format 'xml'; this resource has json and csv."]}
    assert client.get("/api/v1/accounts.csv", **read)["Content-Type"].startswith("text/csv")


@pytest.mark.parametrize(
    ("url", "params"),
    [
        ("/api/v1/endpoints/", {}),
        ("/api/v1/usage/", {}),
        ("/api/v1/emissions/", {"group_by": "team"}),
        ("/api/v1/focus/", {}),
    ],
)
def test_a_team_no_endpoint_has_is_a_400_naming_team_with_the_pages_message(client, fleet, tokens, url, params):
    from dashboard.footprint.filters import TEAM_MESSAGE

    response = client.get(url, {**params, "team": "astrology"}, **bearer(tokens["read"]))
    assert response.status_code == 400, response.content[:300]
    assert response.json() == {"team": [TEAM_MESSAGE % {"value": "astrology"}]}
    assert client.get(url, {**params, "team": ""}, **bearer(tokens["read"])).json().keys() == {"team"}


def test_a_team_narrows_every_resource_that_takes_it_to_its_endpoints(client, fleet, tokens):
    ranker = fleet["ranker"]
    read = bearer(tokens["read"])
    names = [row["name"] for row in client.get("/api/v1/endpoints/", {"team": "recsys"}, **read).json()["results"]]
    assert names == ["ranker"]
    usage = client.get("/api/v1/usage/", {"team": "recsys", "page_size": 1000}, **read).json()["results"]
    assert usage and {row["endpoint_id"] for row in usage} == {ranker.pk}
    focus = client.get("/api/v1/focus/", {"team": "growth"}, **read).json()["results"]
    assert focus and {row["ResourceName"] for row in focus} == {"idle-gpu"}
    everyone = client.get("/api/v1/emissions/", {"group_by": "team"}, **read).json()["results"]
    one = client.get("/api/v1/emissions/", {"group_by": "team", "team": "recsys"}, **read).json()["results"]
    assert one and {row["group"] for row in one} == {"recsys"}
    assert [row for row in everyone if row["group"] == "recsys"] == one
    # The team tag's value is the team; the tag may hold markup (it is data, never HTML here).
    assert client.get("/api/v1/endpoints/", {"team": "<script>x</script>"}, **read).json()["results"][0]["name"] == (
        "eu-scorer"
    )


def test_a_mode_that_is_none_of_the_endpoint_modes_is_a_400_naming_mode(client, fleet, tokens):
    read = bearer(tokens["read"])
    response = client.get("/api/v1/endpoints/", {"mode": "realtimee"}, **read)
    assert response.status_code == 400 and list(response.json()) == ["mode"]
    assert len(client.get("/api/v1/endpoints/", {"mode": "realtime"}, **read).json()["results"]) == 3
