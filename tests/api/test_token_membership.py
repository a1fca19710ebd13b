"""Tokens live only as long as their user's membership of the token's team; owners see and revoke the team's
tokens, members only their own, outsiders nothing."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from dashboard.recommend.models import Recommendation
from dashboard.teams.models import ApiToken, Membership
from tests.api.conftest import bearer

DISMISS = {"status": "dismissed", "dismissed_reason": "kept for failover"}


@pytest.fixture
def bobs_token(bob, teams):
    return ApiToken.issue(bob, teams[0], "bob's automation", ApiToken.Access.WRITE)


def read_and_patch(client, plaintext: str) -> tuple[int, int]:
    rec = Recommendation.objects.filter(team__name="ML Platform", status="open").first()
    read = client.get("/api/v1/endpoints/", **bearer(plaintext)).status_code
    patch = client.patch(
        f"/api/v1/recommendations/{rec.pk}/", DISMISS, content_type="application/json", **bearer(plaintext)
    ).status_code
    return read, patch


def test_it_refuses_a_removed_members_token_even_without_the_revocation_signal(client, fleet, bobs_token):
    token, plaintext = bobs_token
    assert client.get("/api/v1/endpoints/", **bearer(plaintext)).status_code == 200
    Membership.objects.filter(user=token.user).delete()  # its post_delete signal revokes the token …
    ApiToken.objects.filter(pk=token.pk).update(revoked_at=None)  # … undone, as if the signal had never run
    assert read_and_patch(client, plaintext) == (401, 401)
    assert Recommendation.objects.filter(status="dismissed").count() == 0


def test_it_refuses_a_token_whose_membership_row_vanished_by_raw_sql(client, fleet, bobs_token):
    from django.db import connection

    token, plaintext = bobs_token
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM dashboard_membership WHERE user_id = %s", [token.user_id])
    assert read_and_patch(client, plaintext) == (401, 401)


def test_removing_a_member_revokes_their_tokens_for_that_team_only(client, fleet, bob, teams, bobs_token):
    token, plaintext = bobs_token
    Membership.objects.create(team=teams[1], user=bob)
    other, other_plain = ApiToken.issue(bob, teams[1], "other team")
    Membership.objects.get(team=teams[0], user=bob).delete()
    token.refresh_from_db()
    other.refresh_from_db()
    assert not token.active and other.active
    assert client.get("/api/v1/accounts/", **bearer(other_plain)).status_code == 200


def test_deactivating_a_user_revokes_all_their_tokens(client, fleet, bob, bobs_token):
    token, plaintext = bobs_token
    bob.is_active = False
    bob.save()
    token.refresh_from_db()
    assert not token.active and read_and_patch(client, plaintext) == (401, 401)


def test_a_deactivated_users_token_is_refused_even_without_the_signal(client, fleet, bob, bobs_token):
    token, plaintext = bobs_token
    get_user_model().objects.filter(pk=bob.pk).update(is_active=False)
    assert read_and_patch(client, plaintext) == (401, 401)


def test_the_owner_sees_and_revokes_a_members_token(client, fleet, alice, bobs_token):
    token, plaintext = bobs_token
    client.force_login(alice)
    page = client.get(reverse("api-tokens")).content.decode()
    assert token.prefix in page and "bob's automation" not in page  # the name is escaped …
    assert "bob&#x27;s automation" in page and "<td>bob</td>" in page  # … and the owner column names bob
    response = client.post(reverse("api-token-revoke", args=[token.pk]), follow=True)
    assert "of bob" in response.content.decode()
    token.refresh_from_db()
    assert not token.active
    client.logout()
    assert client.get("/api/v1/accounts/", **bearer(plaintext)).status_code == 401


def test_a_member_sees_only_their_own_tokens_and_cannot_revoke_the_owners(client, fleet, alice, bob, teams, bobs_token):
    alices, _ = ApiToken.issue(alice, teams[0], "alice's export")
    client.force_login(bob)
    page = client.get(reverse("api-tokens")).content.decode()
    assert bobs_token[0].prefix in page and alices.prefix not in page
    assert client.post(reverse("api-token-revoke", args=[alices.pk])).status_code == 404
    alices.refresh_from_db()
    assert alices.active


def test_an_outsider_neither_sees_nor_revokes_the_teams_tokens(client, fleet, charlie, bobs_token):
    token, _ = bobs_token
    client.force_login(charlie)
    assert token.prefix not in client.get(reverse("api-tokens")).content.decode()
    assert client.post(reverse("api-token-revoke", args=[token.pk])).status_code == 404
    token.refresh_from_db()
    assert token.active
