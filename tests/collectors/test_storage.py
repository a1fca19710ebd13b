"""Log-group snapshots and Storage Lens days, linked to the endpoints whose captures they hold."""

from datetime import UTC, datetime, timedelta

from django.utils import timezone

from collectors import aws, runner
from collectors.capture import capture_days, capture_location
from collectors.inventory import collect_inventory
from collectors.models import Endpoint, LogGroupSnapshot, StorageLensDay
from sandbox import fleet as fl
from sandbox.clients import client


def test_log_groups_are_snapshotted_with_stored_bytes_and_retention(prod):
    result = runner.run(prod, "us-east-1", "log_groups")
    snapshots = LogGroupSnapshot.objects.filter(account=prod, region="us-east-1")
    [day] = set(snapshots.values_list("day", flat=True))  # the run's day (not "today": midnight may have passed)
    today = snapshots.filter(day=day)
    assert today.count() == result.details["log_groups"] > 10
    training = today.get(name="/aws/sagemaker/TrainingJobs")
    assert training.stored_bytes == 42 * 10**9 and training.retention_days is None
    assert today.get(name="/aws/sagemaker/ProcessingJobs").retention_days == 90
    assert today.get(name="/aws/sagemaker/TransformJobs").log_group_class == "INFREQUENT_ACCESS"
    assert result.details["never_expire"] == today.filter(retention_days__isnull=True).count()
    runner.run(prod, "us-east-1", "log_groups")  # the same day again: updated, not duplicated
    assert snapshots.filter(day=day).count() == result.details["log_groups"]


def test_storage_lens_csv_export_is_read_and_linked_to_capturing_endpoints(prod):
    check_lens_export(prod)


def test_storage_lens_parquet_export_is_read_and_linked_to_capturing_endpoints(research):
    check_lens_export(research)


def check_lens_export(account):
    result = runner.run(account, "us-east-1", "storage_lens")
    assert result.details["source"] == "export" and result.details["days"] == fl.HISTORY_DAYS
    for region in fl.REGIONS:
        collect_inventory(account, region, timezone.now(), aws.ApiCalls())
    capturing = Endpoint.objects.filter(account=account, capture_enabled=True)
    assert capturing.exists()
    for endpoint in capturing:
        days = list(capture_days(endpoint))
        assert len(days) == fl.HISTORY_DAYS, endpoint.name
        assert days[-1]["stored_bytes"] > days[0]["stored_bytes"] > 0  # captures pile up without a lifecycle
    bucket_rows = StorageLensDay.objects.filter(account=account, prefix="", bucket__endswith="-training-data")
    assert set(bucket_rows.values_list("storage_class", flat=True)) == {"STANDARD", "GLACIER"}


def test_the_capture_location_follows_sagemakers_layout(prod):
    endpoint = Endpoint(account=prod, name="fraud-scoring", capture_destination="s3://bucket/data/capture")
    assert capture_location(endpoint) == ("bucket", "data/capture/fraud-scoring/")
    assert capture_location(Endpoint(account=prod, name="x", capture_destination="")) is None


def test_without_an_export_it_falls_back_to_bucket_level_cloudwatch(scratch, aws_env):
    url, account_id = aws_env["url"], scratch.account_id
    client("s3control", url, "us-east-1", account_id).put_storage_lens_configuration(
        ConfigId="dashboard-only",
        AccountId=account_id,
        StorageLensConfiguration={
            "Id": "dashboard-only",
            "IsEnabled": True,
            "AccountLevel": {"BucketLevel": {}},
            "DataExport": {"CloudWatchMetrics": {"IsEnabled": True}},
        },
    )
    day = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1)
    dims = [
        {"Name": "configuration_id", "Value": "dashboard-only"},
        {"Name": "metrics_version", "Value": "1.0"},
        {"Name": "aws_account_number", "Value": account_id},
        {"Name": "aws_region", "Value": "us-west-2"},
        {"Name": "bucket_name", "Value": "capture-bucket"},
        {"Name": "storage_class", "Value": "STANDARD"},
        {"Name": "record_type", "Value": "BUCKET"},
    ]
    client("cloudwatch", url, "us-east-1", account_id).put_metric_data(
        Namespace="AWS/S3/Storage-Lens",
        MetricData=[
            {"MetricName": "StorageBytes", "Dimensions": dims, "Timestamp": day, "Value": 5e11, "Unit": "Bytes"}
        ],
    )
    result = runner.run(scratch, "us-east-1", "storage_lens")
    assert result.details["source"] == "cloudwatch"
    row = StorageLensDay.objects.get(account=scratch)
    assert (row.bucket, row.prefix, row.day, row.stored_bytes, row.source) == (
        "capture-bucket",
        "",
        day.date(),
        500_000_000_000,
        "cloudwatch",
    )
