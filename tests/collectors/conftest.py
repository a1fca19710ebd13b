import uuid

import pytest

from collectors import aws
from collectors.models import AwsAccount
from sandbox import fleet as fl
from sandbox.clients import client


@pytest.fixture
def aws_env(sandbox, monkeypatch):
    """Point production boto3 code at the sandbox, exactly as an operator would with AWS_ENDPOINT_URL."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", sandbox["url"])
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "wattson-collector")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wattson-collector")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    aws.forget_sessions()
    yield sandbox
    aws.forget_sessions()


def register(team, account_id: str, regions: list[str], name: str = "") -> AwsAccount:
    return AwsAccount.objects.create(
        team=team,
        account_id=account_id,
        name=name or account_id,
        regions=regions,
        role_arn=f"arn:aws:iam::{account_id}:role/{fl.ROLE_NAME}",
    )


@pytest.fixture
def prod(teams, aws_env):
    return register(teams[0], fl.PROD, list(fl.REGIONS), "ml-prod")


@pytest.fixture
def research(teams, aws_env):
    return register(teams[1], fl.RESEARCH, list(fl.REGIONS), "ml-research")


@pytest.fixture
def scratch(teams, aws_env):
    """An empty account of its own in the sandbox, for tests that change AWS state."""
    account_id = str(uuid.uuid4().int)[:12].rjust(12, "7")
    account = register(teams[0], account_id, ["us-west-2"], "scratch")
    sm = client("sagemaker", aws_env["url"], "us-west-2", account_id)
    sm.create_model(
        ModelName="model", PrimaryContainer={"Image": "image"}, ExecutionRoleArn=f"arn:aws:iam::{account_id}:role/x"
    )
    account.sagemaker = sm
    return account


def make_config(sm, name: str, instance_type: str, count: int = 1) -> None:
    sm.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": "model",
                "InstanceType": instance_type,
                "InitialInstanceCount": count,
            }
        ],
    )


@pytest.fixture
def retries_given_up_quickly(monkeypatch):
    """For tests whose fault outlasts every retry: what they test is what happens once botocore gives up, not how
    long it tries first, so clients make 2 attempts instead of the product's 10 (minutes of backoff)."""
    from botocore.config import Config

    monkeypatch.setattr(
        aws, "CLIENT_CONFIG", aws.CLIENT_CONFIG.merge(Config(retries={**aws.RETRIES, "total_max_attempts": 2}))
    )
