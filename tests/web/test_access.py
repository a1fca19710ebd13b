"""Every page needs a login; team scoping answers 404 to outsiders."""

import pytest
from django.core.management import call_command
from django.http import Http404
from django.urls import reverse

from dashboard.teams.models import Membership, Team
from dashboard.teams.scoping import get_for_team_or_404

PASSWORD = "correct horse battery staple"


@pytest.mark.parametrize("url", ["/", "/admin/"])
def test_pages_redirect_anonymous_visitors_to_login(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_healthz_is_public_and_says_nothing_else(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_it_logs_in_and_shows_the_team(client, alice):
    response = client.post(reverse("login"), {"username": "alice", "password": PASSWORD}, follow=True)
    assert response.status_code == 200
    assert b"ML Platform" in response.content
    assert b"No data yet" in response.content


def test_a_wrong_password_is_refused(client, alice):
    response = client.post(reverse("login"), {"username": "alice", "password": "nope"})
    assert response.status_code == 200 and b"didn&#x27;t match" in response.content


def test_switching_to_someone_elses_team_is_a_404(client, alice, charlie, teams):
    client.force_login(alice)
    assert client.post(reverse("switch-team"), {"team": teams[1].pk}).status_code == 404
    assert client.post(reverse("switch-team"), {"team": teams[0].pk}).status_code == 302


@pytest.mark.parametrize(("value", "status"), [("abc", 400), ("", 400), ("1.5", 400), ("99999999999999999999999", 404)])
def test_switching_to_a_team_that_is_not_an_id_is_a_400_not_a_500(client, alice, value, status):
    client.force_login(alice)
    response = client.post(reverse("switch-team"), {"team": value})
    assert response.status_code == status
    if status == 400:
        assert "team must be the id of one of your teams" in response.content.decode()


def test_team_lookups_answer_404_for_other_teams(alice, charlie, teams):
    mine, _ = teams
    alices, charlies = alice.memberships.get(), charlie.memberships.get()
    assert get_for_team_or_404(Membership.objects.all(), "team", mine, pk=alices.pk) == alices
    with pytest.raises(Http404):
        get_for_team_or_404(Membership.objects.all(), "team", mine, pk=charlies.pk)
    with pytest.raises(Http404):
        get_for_team_or_404(Membership.objects.all(), "team", None, pk=alices.pk)


def test_demo_setup_creates_a_user_that_can_log_in(client, db, capsys):
    call_command("demo_setup")
    assert "username: demo  password: wattson-demo" in capsys.readouterr().out
    assert client.login(username="demo", password="wattson-demo")
    call_command("demo_setup")  # idempotent: resets, does not duplicate
    assert Team.objects.filter(slug="ml-platform").count() == 1


def test_the_methodology_page_renders_the_document_with_versions(client, alice):
    import estimator

    client.force_login(alice)
    page = client.get("/methodology/").content.decode()
    assert "<table>" in page and "Cloud Carbon Footprint" in page
    assert f"default {estimator.METHODOLOGIES['default'].version}" in page


def test_every_form_post_without_its_csrf_token_is_refused(alice, teams):
    from django.test import Client

    from tests.web import factories

    account = factories.account(teams[0], "111122223333")
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    posts = {
        reverse("switch-team"): {"team": teams[0].pk},
        reverse("aws-accounts"): {"account_id": "123456789012", "name": "x", "regions": ["us-east-1"]},
        reverse("aws-account-check", args=[account.pk]): {},
        reverse("logout"): {},
    }
    for url, data in posts.items():
        assert client.post(url, data).status_code == 403, url
    page = client.get(reverse("aws-accounts")).content.decode()
    assert page.count('name="csrfmiddlewaretoken"') == 2  # add account, log out (one team: no switcher)
