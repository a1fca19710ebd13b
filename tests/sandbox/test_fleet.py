"""The seeded sandbox, seen the way the collectors will see it: plain boto3 over HTTP, through AssumeRole."""

import io
import json
from datetime import UTC, datetime, timedelta

import boto3
import numpy as np
import pandas as pd
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from collectors.aws import s3control_custom_endpoint_handler
from estimator.catalog import hardware
from sandbox import fleet as fl

FLEET = {e.name: e for e in fl.build_fleet()}
NO_RETRY = Config(retries={"total_max_attempts": 1, "mode": "standard"})  # no retry at all


def assumed_session(sandbox, account: str) -> boto3.Session:
    sts = boto3.client(
        "sts",
        endpoint_url=sandbox["url"],
        region_name="us-east-1",
        aws_access_key_id="collector",
        aws_secret_access_key="collector",
    )
    creds = sts.assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/{sandbox['role_name']}",
        RoleSessionName="wattson-test",
        ExternalId="test-external-id",
    )["Credentials"]
    return boto3.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )


def aws(sandbox, service: str, account: str, region: str = "us-east-1", config: Config | None = None):
    c = assumed_session(sandbox, account).client(
        service, endpoint_url=sandbox["url"], region_name=region, config=config
    )
    if service == "s3control":
        c.meta.events.register("before-send.s3-control", s3control_custom_endpoint_handler(sandbox["url"]))
    return c


def list_endpoint_names(sm) -> list[str]:
    pages = sm.get_paginator("list_endpoints").paginate(PaginationConfig={"PageSize": 10})
    return [e["EndpointName"] for page in pages for e in page["Endpoints"]]


def variant_configs(sm, name: str) -> list[dict]:
    config_name = sm.describe_endpoint(EndpointName=name)["EndpointConfigName"]
    return sm.describe_endpoint_config(EndpointConfigName=config_name)["ProductionVariants"]


def test_it_lists_the_seeded_endpoints_in_every_account_and_region(sandbox):
    total = 0
    for account in fl.ACCOUNTS:
        for region in fl.REGIONS:
            names = list_endpoint_names(aws(sandbox, "sagemaker", account, region))
            expected = {e.name for e in FLEET.values() if (e.account, e.region) == (account, region) and not e.deleted}
            assert set(names) == expected and names, (account, region)
            total += len(names)
    assert total >= 40


def test_the_fleet_mixes_cpu_graviton_gpu_and_inferentia_instances(sandbox):
    families = set()
    for account in fl.ACCOUNTS:
        for region in fl.REGIONS:
            sm = aws(sandbox, "sagemaker", account, region)
            for name in list_endpoint_names(sm):
                families |= {v["InstanceType"].split(".")[1] for v in variant_configs(sm, name) if "InstanceType" in v}
    assert {"m5", "c5", "c6i", "c7g", "m6g", "g4dn", "g5", "p3", "inf1", "inf2"} <= families


def test_it_serves_serverless_async_multi_model_and_ab_variants(sandbox):
    sm = aws(sandbox, "sagemaker", fl.PROD)
    serverless = variant_configs(sm, "sentiment-serverless")[0]
    assert serverless["ServerlessConfig"]["MemorySizeInMB"] == 4096 and "InstanceType" not in serverless
    async_config = sm.describe_endpoint_config(EndpointConfigName="doc-summarizer-async-config-v1")
    assert "S3OutputPath" in async_config["AsyncInferenceConfig"]["OutputConfig"]
    mme = sm.describe_model(ModelName="multi-tenant-models-model")
    assert mme["PrimaryContainer"]["Mode"] == "MultiModel"
    weights = {
        v["VariantName"]: v["CurrentWeight"]
        for v in sm.describe_endpoint(EndpointName="recsys-ranker")["ProductionVariants"]
    }
    assert weights == {"A": 0.8, "B": 0.2}
    capture = sm.describe_endpoint_config(EndpointConfigName="clickstream-scorer-config-v1")["DataCaptureConfig"]
    assert capture["InitialSamplingPercentage"] == 100 and capture["DestinationS3Uri"].startswith("s3://")


def test_endpoint_statuses_and_the_deleted_endpoint(sandbox):
    prod_eu = aws(sandbox, "sagemaker", fl.PROD, "eu-west-1")
    assert prod_eu.describe_endpoint(EndpointName="ner-tagger")["EndpointStatus"] == "Updating"
    research = aws(sandbox, "sagemaker", fl.RESEARCH, "eu-north-1")
    assert research.describe_endpoint(EndpointName="vision-exp-7")["EndpointStatus"] == "Failed"
    prod = aws(sandbox, "sagemaker", fl.PROD)
    with pytest.raises(ClientError, match="Could not find endpoint"):
        prod.describe_endpoint(EndpointName="old-forecast")
    tags = prod.list_tags(ResourceArn=prod.describe_endpoint(EndpointName="fraud-scoring")["EndpointArn"])["Tags"]
    assert {t["Key"] for t in tags} == {"team", "owner"}  # seeding knobs are not visible


def metric_query(endpoint: str, variant: str, name: str, stat: str, period: int, namespace=fl.HOST_NAMESPACE):
    dims = [{"Name": "EndpointName", "Value": endpoint}, {"Name": "VariantName", "Value": variant}]
    return {
        "Id": f"q{abs(hash((name, stat))) % 10**6}",
        "MetricStat": {
            "Metric": {"Namespace": namespace, "MetricName": name, "Dimensions": dims},
            "Period": period,
            "Stat": stat,
        },
    }


def get_values(cw, queries, start, end) -> list[list[float]]:
    response = cw.get_metric_data(MetricDataQueries=queries, StartTime=start, EndTime=end, ScanBy="TimestampAscending")
    by_id = {r["Id"]: r["Values"] for r in response["MetricDataResults"]}
    return [by_id.get(q["Id"], []) for q in queries]


def test_an_hour_of_cloudwatch_equals_what_the_fleet_series_imply(sandbox):
    """Recompute one hour from the fleet definition, minute by minute, and compare with CloudWatch."""
    now = datetime.fromisoformat(sandbox["seeded_at"])
    hour = (now - timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    endpoint = FLEET["fraud-scoring"]
    variant = endpoint.variants[0]
    minutes = np.arange(hour.timestamp(), hour.timestamp() + 3600, 60.0)
    s = fl.series(endpoint, variant, minutes, now.timestamp())
    instance_minutes = s["instances"].sum()
    expected_cpu = (s["instances"] * s["cpu_pct"] * s["vcpus"]).sum() / instance_minutes
    cw = aws(sandbox, "cloudwatch", fl.PROD)
    cpu, samples, invocations = get_values(
        cw,
        [
            metric_query("fraud-scoring", "AllTraffic", "CPUUtilization", "Average", 3600),
            metric_query("fraud-scoring", "AllTraffic", "CPUUtilization", "SampleCount", 3600),
            metric_query("fraud-scoring", "AllTraffic", "Invocations", "Sum", 3600, fl.INVOCATION_NAMESPACE),
        ],
        hour,
        hour + timedelta(hours=1),
    )
    assert cpu == pytest.approx([expected_cpu])
    assert samples == [instance_minutes]
    assert invocations == [s["invocations_per_minute"].sum()]
    vcpus = hardware("ml.c5.2xlarge")["vcpus"]
    assert 100 < cpu[0] < 100 * vcpus  # summed over vCPUs, as AWS publishes it


def test_the_idle_endpoint_runs_instances_without_invocations(sandbox):
    now = datetime.fromisoformat(sandbox["seeded_at"])
    cw = aws(sandbox, "cloudwatch", fl.PROD)
    idle_start = now - timedelta(days=FLEET["legacy-churn-model"].idle_days - 1)
    samples, invocations = get_values(
        cw,
        [
            metric_query("legacy-churn-model", "AllTraffic", "CPUUtilization", "SampleCount", 86400),
            metric_query("legacy-churn-model", "AllTraffic", "Invocations", "Sum", 86400, fl.INVOCATION_NAMESPACE),
        ],
        idle_start,
        now,
    )
    assert len(samples) >= 7 and all(count >= 1380 for count in samples[:-1])  # one instance, every minute
    assert invocations == []
    before = get_values(
        cw,
        [metric_query("legacy-churn-model", "AllTraffic", "Invocations", "Sum", 86400, fl.INVOCATION_NAMESPACE)],
        now - timedelta(days=13),
        idle_start,
    )[0]
    assert sum(before) > 0


def test_the_instance_type_swap_shows_in_configs_and_metrics(sandbox):
    sm = aws(sandbox, "sagemaker", fl.PROD)
    old = sm.describe_endpoint_config(EndpointConfigName="recsys-ranker-config-v1")["ProductionVariants"]
    assert {v["VariantName"]: v["InstanceType"] for v in old}["A"] == "ml.g5.4xlarge"
    assert {v["VariantName"]: v["InstanceType"] for v in variant_configs(sm, "recsys-ranker")}["A"] == "ml.g5.2xlarge"
    now = datetime.fromisoformat(sandbox["seeded_at"])
    swap_at = now - timedelta(days=FLEET["recsys-ranker"].swap.days_ago)
    cw = aws(sandbox, "cloudwatch", fl.PROD)
    day = timedelta(days=1)
    before = get_values(
        cw, [metric_query("recsys-ranker", "A", "CPUUtilization", "Maximum", 86400)], swap_at - 2 * day, swap_at - day
    )[0]
    assert max(before) > 100 * hardware("ml.g5.2xlarge")["vcpus"] * 0.1
    after = get_values(
        cw, [metric_query("recsys-ranker", "A", "CPUUtilization", "Maximum", 86400)], swap_at + day, swap_at + 2 * day
    )[0]
    assert max(after) <= 100 * hardware("ml.g5.2xlarge")["vcpus"]


def test_log_groups_carry_stored_bytes_retention_and_class(sandbox):
    logs = aws(sandbox, "logs", fl.PROD)
    pages = list(logs.get_paginator("describe_log_groups").paginate(PaginationConfig={"PageSize": 5}))
    groups = [g for page in pages for g in page["logGroups"]]
    assert len(pages) > 1
    names = {g["logGroupName"] for g in groups}
    assert "/aws/sagemaker/Endpoints/fraud-scoring" in names and "/aws/sagemaker/TrainingJobs" in names
    assert "/aws/sagemaker/Endpoints/old-forecast" in names  # logs outlive their endpoint
    sizes = [g["storedBytes"] for g in groups]
    assert min(sizes) < 1e9 and max(sizes) > 1e10  # from megabytes to tens of gigabytes
    never_expire = [g for g in groups if "retentionInDays" not in g]
    assert len(never_expire) > len(groups) / 2
    assert {g["retentionInDays"] for g in groups if "retentionInDays" in g} <= {14, 30, 90}
    assert {g["logGroupClass"] for g in groups} == {"STANDARD", "INFREQUENT_ACCESS"}


def latest_lens_report(sandbox, account: str) -> tuple[dict, pd.DataFrame]:
    s3control = aws(sandbox, "s3control", account)
    configs = s3control.list_storage_lens_configurations(AccountId=account)["StorageLensConfigurationList"]
    config = s3control.get_storage_lens_configuration(ConfigId=configs[0]["Id"], AccountId=account)[
        "StorageLensConfiguration"
    ]
    destination = config["DataExport"]["S3BucketDestination"]
    bucket = destination["Arn"].split(":::")[1]
    s3 = aws(sandbox, "s3", account)
    prefix = f"{destination['Prefix']}/StorageLens/{account}/{config['Id']}/V_1/manifests/"
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"])
    manifest = json.loads(s3.get_object(Bucket=bucket, Key=keys[-1])["Body"].read())
    body = s3.get_object(Bucket=bucket, Key=manifest["reportFiles"][0]["key"])["Body"].read()
    reader = pd.read_csv if manifest["reportFormat"] == "CSV" else pd.read_parquet
    return manifest, reader(io.BytesIO(body))


@pytest.mark.parametrize(("account", "fmt"), [(fl.PROD, "CSV"), (fl.RESEARCH, "Parquet")])
def test_storage_lens_exports_size_the_capture_prefixes(sandbox, account, fmt):
    manifest, report = latest_lens_report(sandbox, account)
    assert manifest["reportFormat"] == fmt and len(manifest["reportFiles"]) == 1
    assert list(report.columns)[:3] == ["version_number", "configuration_id", "report_date"]
    prefixes = report[(report.record_type == "PREFIX") & (report.metric_name == "StorageBytes")]
    captured = {e.name for e in FLEET.values() if e.account == account and e.capture_pct}
    found = {v.replace("%2F", "/").split("/")[1] for v in prefixes.record_value}
    assert found == captured and len(captured) >= 2
    assert (prefixes.metric_value > 0).all()


def test_faults_make_plain_boto3_see_throttling_and_access_denied(sandbox, sandbox_control):
    sandbox_control(
        "POST",
        "faults",
        {"operation": "DescribeLogGroups", "error": "ThrottlingException", "count": 1, "account": fl.PROD},
    )
    sandbox_control(
        "POST",
        "faults",
        {
            "operation": "ListEndpoints",
            "error": "AccessDeniedException",
            "message": "not authorized",
            "account": fl.RESEARCH,
        },
    )
    with pytest.raises(ClientError) as throttled:
        aws(sandbox, "logs", fl.PROD, config=NO_RETRY).describe_log_groups()
    assert throttled.value.response["Error"]["Code"] == "ThrottlingException"
    assert aws(sandbox, "logs", fl.PROD, config=NO_RETRY).describe_log_groups()["logGroups"]  # count used up
    with pytest.raises(ClientError) as denied:
        aws(sandbox, "sagemaker", fl.RESEARCH, config=NO_RETRY).list_endpoints()
    assert denied.value.response["Error"]["Code"] == "AccessDeniedException"
    assert aws(sandbox, "sagemaker", fl.PROD, config=NO_RETRY).list_endpoints()["Endpoints"]
    cw = aws(sandbox, "cloudwatch", fl.PROD, config=NO_RETRY)
    sandbox_control("POST", "faults", {"operation": "GetMetricData", "count": 1})
    with pytest.raises(ClientError) as cbor_throttled:
        cw.get_metric_data(
            MetricDataQueries=[metric_query("fraud-scoring", "AllTraffic", "CPUUtilization", "Average", 60)],
            StartTime=datetime.now(UTC) - timedelta(hours=1),
            EndTime=datetime.now(UTC),
        )
    assert cbor_throttled.value.response["Error"]["Code"] == "ThrottlingException"


def test_the_sandbox_counts_calls_per_account_and_operation(sandbox, sandbox_control):
    for _ in range(3):
        aws(sandbox, "sagemaker", fl.PROD, "eu-west-1").list_endpoints(MaxResults=5)
    calls = sandbox_control("GET", "calls")["calls"]
    listed = [c for c in calls if c["operation"] == "ListEndpoints" and c["account"] == fl.PROD]
    assert listed == [
        {"account": fl.PROD, "region": "eu-west-1", "service": "sagemaker", "operation": "ListEndpoints", "count": 3}
    ]
