"""Whose AWS is read: every session's identity is checked against the registered account before any call; accounts
without a role (the workers' own identity) are an operator-only mode, off by default, never offered to owners."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from collectors import aws, runner
from collectors.models import AwsAccount, CollectionState, Endpoint
from dashboard.notify.channels import Permanent, sns
from dashboard.notify.models import Channel
from sandbox import fleet as fl
from tests.collectors.conftest import aws_env, prod, register  # noqa: F401 - fixtures

WORKERS_OWN_ACCOUNT = "123456789012"  # the sandbox's account for credentials that are not an assumed role
VALID = {
    "name": "ml-prod",
    "account_id": "123412341234",
    "regions": ["us-east-1"],
    "enabled": "on",
    "role_arn": "arn:aws:iam::123412341234:role/WattsonReadOnly",
}


def roleless(team, account_id: str) -> AwsAccount:
    return AwsAccount.objects.create(team=team, account_id=account_id, name="role-less", regions=["eu-north-1"])


def calls_to(sandbox_control, account_id: str) -> int:
    return sum(c["count"] for c in sandbox_control("GET", "calls")["calls"] if c["account"] == account_id)


def test_a_team_owner_cannot_add_a_role_less_account(client, alice, settings):
    settings.COLLECT_ALLOW_ROLELESS_ACCOUNTS = True  # even with the operator mode on: it is not the owners' to use
    client.force_login(alice)
    response = client.post(reverse("aws-accounts"), {**VALID, "role_arn": ""})
    assert response.status_code == 200 and b"This field is required." in response.content
    assert not AwsAccount.objects.exists()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("account_id", "١٢٣٤١٢٣٤١٢٣٤", b"An AWS account id is 12 digits."),  # Arabic-Indic digits are not [0-9]
        ("role_arn", "garbage", b"Not an IAM role ARN."),
        ("role_arn", "arn:aws:iam::１２３４１２３４１２３４:role/x", b"Not an IAM role ARN."),
    ],
)
def test_malformed_account_ids_and_roles_are_refused_not_a_500(client, alice, field, value, message):
    client.force_login(alice)
    response = client.post(reverse("aws-accounts"), {**VALID, field: value})
    assert response.status_code == 200 and message in response.content
    assert not AwsAccount.objects.exists()


def test_role_less_accounts_are_refused_by_default_before_any_aws_call(teams, aws_env, sandbox_control):
    account = roleless(teams[0], WORKERS_OWN_ACCOUNT)
    with pytest.raises(ValidationError, match="role-less accounts are off"):
        account.full_clean()
    with pytest.raises(runner.CollectionFailed, match="role-less accounts are off"):
        runner.run(account, "eu-north-1", "inventory")
    assert calls_to(sandbox_control, WORKERS_OWN_ACCOUNT) == 0
    assert CollectionState.objects.get(account=account, source="inventory").last_error.startswith(
        f"IdentityError: account {WORKERS_OWN_ACCOUNT} has no role"
    )


def test_a_forged_account_id_is_refused_by_the_identity_check(teams, aws_env, sandbox_control, settings):
    settings.COLLECT_ALLOW_ROLELESS_ACCOUNTS = True
    forged = roleless(teams[0], fl.PROD)  # claims ml-prod, but would run on the workers' own identity
    forged.full_clean()
    with pytest.raises(runner.CollectionFailed, match=f"belong to account {WORKERS_OWN_ACCOUNT}"):
        runner.run(forged, "eu-north-1", "inventory")
    assert not Endpoint.objects.filter(account=forged).exists()
    sagemaker_calls = [c for c in sandbox_control("GET", "calls")["calls"] if c["service"] == "sagemaker"]
    assert sagemaker_calls == []  # refused before the first SageMaker call

    own = roleless(teams[1], WORKERS_OWN_ACCOUNT)  # the operator's own account, registered on purpose
    assert runner.run(own, "eu-north-1", "inventory").details["endpoints"] == 0


def test_an_assumed_role_session_is_verified_too(prod, sandbox_control):
    runner.run(prod, "eu-north-1", "inventory")
    operations = {c["operation"] for c in sandbox_control("GET", "calls")["calls"] if c["account"] == fl.PROD}
    assert {"GetCallerIdentity", "ListEndpoints"} <= operations


def test_test_connection_names_the_identity_mismatch(client, alice, teams, aws_env, settings):
    settings.COLLECT_ALLOW_ROLELESS_ACCOUNTS = True
    forged = roleless(teams[0], fl.PROD)
    client.force_login(alice)
    response = client.post(reverse("aws-account-check", args=[forged.pk]), follow=True)
    assert f"belong to account {WORKERS_OWN_ACCOUNT}".encode() in response.content
    assert b"can read SageMaker" not in response.content


def test_an_sns_topic_must_belong_to_the_channels_account(client, alice, prod):
    client.force_login(alice)
    other_topic = f"arn:aws:sns:eu-west-1:{WORKERS_OWN_ACCOUNT}:operator-alerts"
    response = client.post(
        reverse("notifications"),
        {"form": "channel", "kind": "sns", "name": "ops", "target": other_topic, "account": prod.pk},
    )
    assert b"The topic must belong to the account it is published through" in response.content
    assert not Channel.objects.exists()
    channel = Channel.objects.create(team=prod.team, kind="sns", name="forged", target=other_topic, account=prod)
    with pytest.raises(Permanent, match="does not belong to account"):
        sns.send(channel, None)
    aws.forget_sessions()
