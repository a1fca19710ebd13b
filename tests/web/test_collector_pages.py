"""AWS account and collection-health pages: team scoping, owner-only changes, and a real connection check."""

import pytest
from django.urls import reverse

from collectors import runner
from collectors.models import AwsAccount, CollectionState
from tests.collectors.conftest import aws_env, prod, register, research  # noqa: F401 - fixtures

VALID = {
    "name": "ml-prod",
    "account_id": "123412341234",
    "regions": ["us-east-1", "eu-west-1"],
    "enabled": "on",
    "role_arn": "arn:aws:iam::123412341234:role/WattsonReadOnly",
}


def test_an_owner_adds_an_account_and_gets_its_trust_policy(client, alice):
    client.force_login(alice)
    response = client.post(reverse("aws-accounts"), VALID, follow=True)
    account = AwsAccount.objects.get(account_id="123412341234")
    assert account.team.slug == "ml-platform" and account.regions == ["us-east-1", "eu-west-1"]
    assert account.external_id.encode() in response.content
    assert b"sts:ExternalId" in response.content and b"cloudwatch:GetMetricData" in response.content


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("account_id", "12345", b"An AWS account id is 12 digits."),
        ("role_arn", "arn:aws:iam::999999999999:role/x", b"The role must belong to this account."),
        ("regions", ["us-east-1", "mars-north-1"], b"Select a valid choice"),
    ],
)
def test_bad_account_input_is_refused_with_a_reason(client, alice, field, value, message):
    client.force_login(alice)
    response = client.post(reverse("aws-accounts"), {**VALID, field: value})
    assert response.status_code == 200 and message in response.content
    assert not AwsAccount.objects.exists()


def test_a_member_who_is_not_owner_cannot_add_accounts(client, bob):
    client.force_login(bob)
    assert client.post(reverse("aws-accounts"), VALID).status_code == 403


def test_other_teams_accounts_are_invisible(client, alice, charlie, teams):
    theirs = register(teams[1], "555566667777", ["us-east-1"], "their-account")
    client.force_login(alice)
    assert b"their-account" not in client.get(reverse("aws-accounts")).content
    assert client.get(reverse("aws-account", args=[theirs.pk])).status_code == 404
    assert client.post(reverse("aws-account-check", args=[theirs.pk])).status_code == 404


def test_test_connection_reports_each_region(client, alice, prod, sandbox_control):
    client.force_login(alice)
    response = client.post(reverse("aws-account-check", args=[prod.pk]), follow=True)
    assert response.content.count(b"can read SageMaker") == len(prod.regions)
    sandbox_control("POST", "trust", {"role_arn": prod.role_arn, "external_id": "wattson-not-this-one"})
    response = client.post(reverse("aws-account-check", args=[prod.pk]), follow=True)
    assert b"AccessDenied" in response.content and b"can read SageMaker" not in response.content


def test_the_health_page_shows_successes_lag_and_errors(client, alice, prod, research, sandbox_control):
    runner.run(prod, "eu-north-1", "inventory")
    runner.run(research, "eu-north-1", "inventory")  # another team's: must not show
    sandbox_control(
        "POST",
        "faults",
        {"operation": "DescribeLogGroups", "error": "AccessDeniedException", "message": "no logs for you"},
    )
    with pytest.raises(runner.CollectionFailed):
        runner.run(prod, "eu-north-1", "log_groups")
    client.force_login(alice)
    page = client.get(reverse("collection-health")).content.decode()
    assert "1 collector(s) failing" in page and "AccessDeniedException: no logs for you" in page
    assert "Endpoints and configuration" in page
    assert CollectionState.objects.filter(account=research).exists()
    assert "ml-research" not in page


def test_the_overview_says_when_accounts_wait_for_their_first_collection(client, alice, teams):
    register(teams[0], "123412341234", ["us-east-1"])
    client.force_login(alice)
    page = client.get("/").content.decode()
    assert "Waiting for the first collection" in page and "No data yet" not in page
