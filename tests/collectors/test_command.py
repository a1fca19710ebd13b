"""`manage.py collect`: every account, region and source, with a summary; failures named, others unaffected."""

import pytest
from django.core.management import CommandError, call_command

from collectors.models import CollectionState, Endpoint, VariantHour
from sandbox import fleet as fl


def test_it_collects_one_region_of_one_account_and_summarises(prod, research, capsys):
    call_command("collect", "--account", fl.PROD, "--region", "eu-north-1")
    out = capsys.readouterr().out
    # inventory, CloudTrail, utilization, log groups, Compute Optimizer's findings, jobs, their host metrics, and
    # notebooks and Studio apps of the one region
    assert "Collected 8 of 8 jobs" in out and "AWS API calls" in out
    assert Endpoint.objects.filter(account=prod, region="eu-north-1").exists()
    assert VariantHour.objects.filter(endpoint__account=prod).exists()
    assert not Endpoint.objects.filter(account=research).exists()


def test_a_failing_account_is_reported_while_the_others_are_collected(prod, research, sandbox_control, capsys):
    sandbox_control(
        "POST",
        "faults",
        {
            "operation": "*",
            "service": "sagemaker",
            "error": "AccessDeniedException",
            "message": "not authorized",
            "account": fl.RESEARCH,
        },
    )
    with pytest.raises(CommandError, match="1 of 2 collections failed"):
        call_command("collect", "--region", "eu-west-1", "--source", "inventory")
    with pytest.raises(CommandError, match="1 of 2 collections failed"):
        call_command("collect", "--region", "eu-west-1", "--source", "utilization")
    err = capsys.readouterr().err
    assert "failed: ml-research (444455556666) eu-west-1 utilization: waiting for a first successful inventory" in err
    assert Endpoint.objects.filter(account=prod, region="eu-west-1").exists()
    assert CollectionState.objects.get(account=research, source="inventory").last_error.startswith(
        "AccessDeniedException"
    )
    # The failed account's utilization did not move its watermark: its first success will backfill in full.
    assert CollectionState.objects.get(account=research, source="utilization").watermark is None
    assert CollectionState.objects.get(account=prod, source="utilization").watermark is not None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--account", "000000000000"], "No enabled AWS account 000000000000"),
        (["--since", "last tuesday"], "--since must be an ISO date"),
    ],
)
def test_bad_arguments_get_a_clear_error(prod, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("collect", *args)
