"""API tokens in the web UI: created and shown once, listed by prefix, revoked; hashed at rest."""

from django.urls import reverse

from dashboard.teams.models import ApiToken
from tests.api.conftest import bearer


def test_a_user_creates_uses_and_revokes_a_token(client, alice, teams):
    client.force_login(alice)
    page = client.post(reverse("api-tokens"), {"name": "FinOps export", "access": "read"}).content.decode()
    token = ApiToken.objects.get(user=alice)
    plaintext = page.split('<pre class="cli" id="token-value">')[1].split("</pre>")[0]
    assert plaintext.startswith("wtsn_") and token.prefix == plaintext[:12] and plaintext not in token.digest
    client.logout()
    assert client.get("/api/v1/accounts/", **bearer(plaintext)).status_code == 200
    client.force_login(alice)
    listing = client.get(reverse("api-tokens")).content.decode()
    assert token.prefix in listing and plaintext not in listing  # shown once, never again
    client.post(reverse("api-token-revoke", args=[token.pk]))
    client.logout()
    assert client.get("/api/v1/accounts/", **bearer(plaintext)).status_code == 401


def test_nobody_else_can_revoke_my_token(client, alice, bob, teams):
    token, _ = ApiToken.issue(alice, teams[0], "mine")
    client.force_login(bob)  # same team, another user
    assert client.post(reverse("api-token-revoke", args=[token.pk])).status_code == 404
    token.refresh_from_db()
    assert token.active


def test_a_token_created_without_a_name_is_refused(client, alice):
    client.force_login(alice)
    response = client.post(reverse("api-tokens"), {"name": "", "access": "read"})
    assert response.status_code == 200 and not ApiToken.objects.exists()
    assert "This field is required" in response.content.decode()


def test_the_api_reference_is_served_from_our_static_files(client, alice):
    assert client.get("/api/v1/docs/").status_code in (401, 403)
    client.force_login(alice)
    page = client.get("/api/v1/docs/").content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    assert "cdn" not in page.lower()
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi")
    assert schema.status_code == 200 and b"/api/v1/emissions/" in schema.content
