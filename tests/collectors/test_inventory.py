"""Inventory and configuration history, through AssumeRole into the sandbox's accounts."""

import pytest
from django.utils import timezone

from collectors import aws, runner
from collectors.inventory import collect_inventory
from collectors.models import Endpoint, VariantConfig
from sandbox import fleet as fl
from tests.collectors.conftest import make_config

FLEET = {e.name: e for e in fl.build_fleet()}


def inventory(account, region):
    return collect_inventory(account, region, timezone.now(), aws.ApiCalls())


def test_it_records_every_endpoint_of_the_region_with_its_variants(prod):
    result = inventory(prod, "us-east-1")
    expected = {e.name for e in FLEET.values() if e.account == fl.PROD and e.region == "us-east-1" and not e.deleted}
    assert set(Endpoint.objects.filter(account=prod).values_list("name", flat=True)) == expected
    assert result.endpoints == len(expected)
    ranker = Endpoint.objects.get(name="recsys-ranker")
    configs = {c.variant_name: c for c in ranker.variant_configs.filter(valid_to__isnull=True)}
    assert {n: (c.instance_type, c.weight, c.current_instance_count) for n, c in configs.items()} == {
        "A": ("ml.g5.2xlarge", 0.8, 2),
        "B": ("ml.g5.xlarge", 0.2, 1),
    }
    assert ranker.tags == {"team": "recommendations", "owner": "recommendations@example.com"}


def test_it_classifies_serverless_async_and_multi_model_endpoints(prod):
    inventory(prod, "us-east-1")
    modes = dict(Endpoint.objects.values_list("name", "mode"))
    assert modes["sentiment-serverless"] == "serverless"
    assert modes["doc-summarizer-async"] == "async"
    assert modes["multi-tenant-models"] == "multi-model"
    assert modes["fraud-scoring"] == "realtime"
    serverless = VariantConfig.objects.get(endpoint__name="sentiment-serverless")
    assert (serverless.serverless_memory_mb, serverless.instance_type) == (4096, "")
    mme = VariantConfig.objects.get(endpoint__name="multi-tenant-models")
    assert mme.model_mode == "MultiModel"
    scorer = Endpoint.objects.get(name="clickstream-scorer")
    assert (scorer.capture_enabled, scorer.capture_pct) == (True, 100)
    assert scorer.capture_destination == "s3://ml-prod-datacapture-us-east-1/datacapture"


def test_it_dates_the_current_config_from_the_endpoints_last_update(prod, aws_env):
    inventory(prod, "us-east-1")
    a = VariantConfig.objects.get(endpoint__name="recsys-ranker", variant_name="A")
    from datetime import datetime, timedelta

    swapped = datetime.fromisoformat(aws_env["seeded_at"]) - timedelta(days=FLEET["recsys-ranker"].swap.days_ago)
    assert abs((a.valid_from - swapped).total_seconds()) < 1


def test_each_account_sees_only_its_own_endpoints(prod, research):
    inventory(prod, "eu-north-1")
    inventory(research, "eu-north-1")
    for account, owner in ((prod, fl.PROD), (research, fl.RESEARCH)):
        names = set(Endpoint.objects.filter(account=account).values_list("name", flat=True))
        assert names == {e.name for e in FLEET.values() if e.account == owner and e.region == "eu-north-1"}


def test_a_config_change_closes_the_old_row_and_opens_a_new_one(scratch):
    sm = scratch.sagemaker
    make_config(sm, "v1", "ml.g5.2xlarge", 2)
    make_config(sm, "v2", "ml.g5.xlarge", 2)
    sm.create_endpoint(EndpointName="swapping", EndpointConfigName="v1")
    inventory(scratch, "us-west-2")
    inventory(scratch, "us-west-2")  # unchanged: nothing new
    assert VariantConfig.objects.filter(endpoint__name="swapping").count() == 1
    sm.update_endpoint(EndpointName="swapping", EndpointConfigName="v2")
    result = inventory(scratch, "us-west-2")
    old, new = VariantConfig.objects.filter(endpoint__name="swapping").order_by("valid_from")
    assert result.config_changes == 1
    assert (old.instance_type, new.instance_type) == ("ml.g5.2xlarge", "ml.g5.xlarge")
    assert old.valid_to == new.valid_from and new.valid_to is None


def test_a_vanished_endpoint_is_marked_deleted_when_last_seen(scratch):
    sm = scratch.sagemaker
    make_config(sm, "c", "ml.m5.large")
    sm.create_endpoint(EndpointName="short-lived", EndpointConfigName="c")
    inventory(scratch, "us-west-2")
    seen = Endpoint.objects.get(name="short-lived").last_seen
    sm.delete_endpoint(EndpointName="short-lived")
    assert inventory(scratch, "us-west-2").deleted == 1
    endpoint = Endpoint.objects.get(name="short-lived")
    assert (endpoint.deleted_at, endpoint.status) == (seen, "Deleted")
    assert endpoint.variant_configs.get().valid_to == seen


def test_it_pages_through_more_endpoints_than_one_listing_returns(scratch):
    sm = scratch.sagemaker
    make_config(sm, "many", "ml.c5.large")
    for i in range(130):
        sm.create_endpoint(EndpointName=f"ep-{i:03d}", EndpointConfigName="many")
    calls = aws.ApiCalls()
    result = collect_inventory(scratch, "us-west-2", timezone.now(), calls)
    assert result.endpoints == 130 == Endpoint.objects.filter(account=scratch).count()
    assert calls["sagemaker:ListEndpoints"] == 2
    assert calls["sagemaker:DescribeEndpointConfig"] == 130  # first sight: each endpoint's config described


def test_the_external_id_is_sent_and_enforced(prod, sandbox_control):
    sandbox_control("POST", "trust", {"role_arn": prod.role_arn, "external_id": prod.external_id})
    inventory(prod, "eu-north-1")  # our AssumeRole carries the account's external id
    aws.forget_sessions()
    prod.external_id = "wattson-someone-else"
    with pytest.raises(runner.CollectionFailed, match="AccessDenied"):
        runner.run(prod, "eu-north-1", "inventory")
