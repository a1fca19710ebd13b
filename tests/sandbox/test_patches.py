"""Each patch to the pinned moto, exercised over HTTP with plain boto3 on a fresh, empty sandbox."""

from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError

from sandbox.clients import client
from sandbox.server import SandboxServer

ACCOUNT = "210987654321"


@pytest.fixture(scope="module")
def server():
    server = SandboxServer().start()
    yield server
    server.stop()


@pytest.fixture
def sagemaker(server):
    sm = client("sagemaker", server.url, "eu-west-1", ACCOUNT)
    if not sm.list_models()["Models"]:
        sm.create_model(
            ModelName="m", PrimaryContainer={"Image": "image"}, ExecutionRoleArn=f"arn:aws:iam::{ACCOUNT}:role/x"
        )
    return sm


def make_config(sm, name: str, instance_type: str, count: int = 1):
    sm.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[
            {"VariantName": "A", "ModelName": "m", "InstanceType": instance_type, "InitialInstanceCount": count}
        ],
    )


@pytest.mark.parametrize("instance_type", ["ml.g5.2xlarge", "ml.inf2.xlarge", "ml.c7g.large", "ml.p5.48xlarge"])
def test_current_instance_types_are_accepted(sagemaker, instance_type):
    make_config(sagemaker, f"cfg-{instance_type.replace('.', '-')}", instance_type)


def test_malformed_instance_types_are_still_refused(sagemaker):
    with pytest.raises(ClientError, match="instanceType"):
        make_config(sagemaker, "bad", "g5.2xlarge")


def test_update_endpoint_switches_the_config_and_keeps_the_old_one(sagemaker):
    make_config(sagemaker, "v1", "ml.g5.4xlarge", 2)
    make_config(sagemaker, "v2", "ml.g5.2xlarge", 3)
    sagemaker.create_endpoint(EndpointName="swapper", EndpointConfigName="v1")
    sagemaker.update_endpoint(EndpointName="swapper", EndpointConfigName="v2")
    described = sagemaker.describe_endpoint(EndpointName="swapper")
    assert described["EndpointConfigName"] == "v2"
    assert described["ProductionVariants"][0]["CurrentInstanceCount"] == 3
    assert (
        sagemaker.describe_endpoint_config(EndpointConfigName="v1")["ProductionVariants"][0]["InstanceType"]
        == "ml.g5.4xlarge"
    )
    with pytest.raises(ClientError, match="Could not find endpoint"):
        sagemaker.update_endpoint(EndpointName="nope", EndpointConfigName="v2")


def test_status_and_creation_time_knobs_are_applied_and_hidden(sagemaker):
    make_config(sagemaker, "knobs", "ml.m5.large")
    created = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    sagemaker.create_endpoint(
        EndpointName="knobbed",
        EndpointConfigName="knobs",
        Tags=[
            {"Key": "team", "Value": "t"},
            {"Key": "sandbox:status", "Value": "OutOfService"},
            {"Key": "sandbox:creationTime", "Value": created.isoformat()},
        ],
    )
    described = sagemaker.describe_endpoint(EndpointName="knobbed")
    assert described["EndpointStatus"] == "OutOfService"
    assert described["CreationTime"] == created
    assert sagemaker.list_tags(ResourceArn=described["EndpointArn"])["Tags"] == [{"Key": "team", "Value": "t"}]
    statuses = {
        e["EndpointName"]: e["EndpointStatus"]
        for e in sagemaker.list_endpoints(StatusEquals="OutOfService")["Endpoints"]
    }
    assert statuses == {"knobbed": "OutOfService"}


def test_log_groups_report_stored_bytes_class_and_creation_time(server):
    logs = client("logs", server.url, "eu-west-1", ACCOUNT)
    created = datetime.now(UTC) - timedelta(days=90)
    logs.create_log_group(
        logGroupName="/aws/sagemaker/Endpoints/big",
        logGroupClass="INFREQUENT_ACCESS",
        tags={"sandbox:storedBytes": str(25 * 10**9), "sandbox:creationTime": created.isoformat()},
    )
    logs.create_log_group(logGroupName="/aws/sagemaker/Endpoints/plain")
    groups = {g["logGroupName"]: g for g in logs.describe_log_groups()["logGroups"]}
    big = groups["/aws/sagemaker/Endpoints/big"]
    assert big["storedBytes"] == 25 * 10**9
    assert big["logGroupClass"] == "INFREQUENT_ACCESS"
    assert abs(big["creationTime"] / 1000 - created.timestamp()) < 1
    assert "retentionInDays" not in big
    assert groups["/aws/sagemaker/Endpoints/plain"]["logGroupClass"] == "STANDARD"
    assert logs.list_tags_for_resource(resourceArn=big["logGroupArn"])["tags"] == {}
    with pytest.raises(ClientError, match="logGroupClass"):
        logs.create_log_group(logGroupName="/bad", logGroupClass="COLD")


def test_get_metric_data_rejects_metric_math_clearly(server):
    cw = client("cloudwatch", server.url, "eu-west-1", ACCOUNT)
    with pytest.raises(ClientError, match="MetricStat queries only"):
        cw.get_metric_data(
            MetricDataQueries=[{"Id": "e1", "Expression": "SUM(METRICS())", "Period": 60}],
            StartTime=datetime.now(UTC) - timedelta(hours=1),
            EndTime=datetime.now(UTC),
        )
