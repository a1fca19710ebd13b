"""Our 404 and 500 pages, also with DEBUG on (the demo) unless a developer asks for Django's technical pages
(WATTSON_DEBUG_PAGES); JSON under /api/ and /metrics. The failing view below is a route of this module's URLconf:
it raises as a broken view would, and the real handlers and middleware answer."""

import json

import pytest
from django.test import Client, RequestFactory
from django.urls import path

from dashboard import urls as site_urls
from dashboard.web import errors
from tests.web.factories import account, endpoint


def broken_view(request):
    raise RuntimeError("a bug in a view")


urlpatterns = [path("broken/", broken_view), path("api/v1/broken/", broken_view), *site_urls.urlpatterns]
handler404 = site_urls.handler404
handler500 = site_urls.handler500

TECHNICAL_404 = b"Using the URLconf defined in"
TECHNICAL_500 = b"Traceback"


@pytest.fixture
def member(client, alice):
    client.force_login(alice)
    return client


@pytest.fixture(params=[False, True], ids=["debug-off", "debug-on"])
def debug(request, settings):
    settings.DEBUG = request.param
    settings.WATTSON_DEBUG_PAGES = False
    return request.param


def test_an_unknown_page_is_our_404_with_the_path_as_text(member, debug):
    response = member.get("/no-such-page/<script>alert(1)</script>/")
    assert response.status_code == 404
    assert b"<h1>Page not found</h1>" in response.content
    assert b"/no-such-page/&lt;script&gt;alert(1)&lt;/script&gt;/" in response.content
    assert b"<script>alert(1)" not in response.content and TECHNICAL_404 not in response.content
    assert b'class="mainnav"' in response.content  # the logged-in navigation, to go on from here


def test_another_teams_endpoint_is_our_404(member, debug, charlie, teams):
    theirs = endpoint(account(teams[1], "444455556666"), "llm", hours=2)
    response = member.get(f"/endpoints/{theirs.pk}/")
    assert response.status_code == 404 and b"<h1>Page not found</h1>" in response.content
    assert b"llm" not in response.content


def test_a_logged_out_visitor_gets_the_404_without_navigation(client, debug, db):
    response = client.get("/no-such-page/")
    assert response.status_code == 404 and b"<h1>Page not found</h1>" in response.content
    assert b'class="mainnav"' not in response.content


def test_a_developer_who_asks_gets_djangos_technical_pages(member, settings):
    settings.DEBUG, settings.WATTSON_DEBUG_PAGES = True, True
    response = member.get("/no-such-page/")
    assert response.status_code == 404 and TECHNICAL_404 in response.content
    assert b"<h1>Page not found</h1>" not in response.content


def test_append_slash_still_redirects(member, debug):
    response = member.get("/endpoints")
    assert response.status_code == 301 and response["Location"] == "/endpoints/"


@pytest.mark.urls("tests.web.test_error_pages")
def test_a_broken_view_is_our_500_page(alice, debug):
    client = Client(raise_request_exception=False)
    client.force_login(alice)
    response = client.get("/broken/")
    assert response.status_code == 500
    assert b"<h1>Something went wrong on our side</h1>" in response.content
    assert TECHNICAL_500 not in response.content and b"a bug in a view" not in response.content


@pytest.mark.urls("tests.web.test_error_pages")
def test_a_developer_who_asks_gets_the_traceback(alice, settings):
    settings.DEBUG, settings.WATTSON_DEBUG_PAGES = True, True
    client = Client(raise_request_exception=False)
    client.force_login(alice)
    response = client.get("/broken/")
    assert response.status_code == 500 and b"a bug in a view" in response.content


def test_the_500_page_needs_no_database(django_assert_num_queries, db):
    with django_assert_num_queries(0):
        response = errors.server_error(RequestFactory().get("/"))
        assert response.status_code == 500 and b"Something went wrong" in response.content


@pytest.mark.parametrize("url", ["/api/no-such-thing", "/api/v1/no-such-resource/", "/metricsx"])
def test_unknown_api_paths_answer_json_404(member, debug, url):
    response = member.get(url)
    assert response.status_code == 404 and response["Content-Type"].startswith("application/json")
    assert "detail" in json.loads(response.content)


@pytest.mark.urls("tests.web.test_error_pages")
def test_a_broken_api_view_answers_json_500(alice, debug):
    client = Client(raise_request_exception=False)
    client.force_login(alice)
    response = client.get("/api/v1/broken/")
    assert response.status_code == 500 and response["Content-Type"].startswith("application/json")
    assert json.loads(response.content) == {"detail": "Server error; it has been logged."}
