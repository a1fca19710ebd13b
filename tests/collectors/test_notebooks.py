"""Notebook instances and Studio apps over HTTP against the sandbox: auto-stop from lifecycle scripts and idle
settings, status spans from CloudTrail (or as observed without it), hours while in service, deletions."""

import base64
from datetime import UTC, datetime, timedelta

import pytest

from collectors import runner
from collectors.models import Workload, WorkloadHour, WorkloadStatusSpan
from collectors.notebooks import auto_stop_script
from collectors.utilization import floor_hour
from tests.collectors.test_jobs import REGION, knobs, role

AUTOSTOP = """#!/bin/bash
# Stop the notebook instance after an hour without activity (AWS's auto-stop-idle sample)
wget https://raw.githubusercontent.com/aws-samples/amazon-sagemaker-notebook-instance-lifecycle-config-samples/master/scripts/auto-stop-idle/autostop.py
(crontab -l; echo "*/5 * * * * /usr/bin/python3 $PWD/autostop.py --time 3600 --ignore-connections") | crontab -
"""
CONDA = "#!/bin/bash\nsource activate python3\npip install --quiet pandas==2.2.2\n"
IDLE = {"AppLifecycleManagement": {"IdleSettings": {"LifecycleManagement": "ENABLED", "IdleTimeoutInMinutes": 120}}}
NO_IDLE = {"AppLifecycleManagement": {"IdleSettings": {"LifecycleManagement": "DISABLED"}}}
SPACE_TIMEOUT = {"AppLifecycleManagement": {"IdleSettings": {"IdleTimeoutInMinutes": 60}}}


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.fixture
def moments():
    now = datetime.now(UTC).replace(microsecond=0)
    return {"now": now, **{f"{h}h": now - timedelta(hours=h) for h in (5, 8, 10, 12, 20, 30)}}


@pytest.fixture
def studio(scratch, moments):
    sm = scratch.sagemaker
    sm.create_notebook_instance_lifecycle_config(
        NotebookInstanceLifecycleConfigName="autostop", OnStart=[{"Content": b64(AUTOSTOP)}]
    )
    sm.create_notebook_instance_lifecycle_config(
        NotebookInstanceLifecycleConfigName="conda-setup", OnStart=[{"Content": b64(CONDA)}]
    )
    for name, instance_type, config, created in (
        ("team-nb", "ml.t3.medium", "autostop", moments["30h"]),
        ("research-nb", "ml.g5.xlarge", None, moments["20h"]),
        ("conda-nb", "ml.m5.xlarge", "conda-setup", moments["10h"]),
    ):
        sm.create_notebook_instance(
            NotebookInstanceName=name,
            InstanceType=instance_type,
            RoleArn=role(scratch),
            **({"LifecycleConfigName": config} if config else {}),
            Tags=[{"Key": "team", "Value": "research"}, *knobs(creationTime=created)],
        )
    sm.stop_notebook_instance(NotebookInstanceName="conda-nb")
    domains = {}
    for name, user_settings in (("studio", {"JupyterLabAppSettings": IDLE}), ("open-studio", {})):
        domains[name] = sm.create_domain(
            DomainName=name,
            AuthMode="IAM",
            DefaultUserSettings={"ExecutionRole": role(scratch), **user_settings},
            SubnetIds=["subnet-0a1b"],
            VpcId="vpc-0a1b",
            **({"DefaultSpaceSettings": {"JupyterLabAppSettings": NO_IDLE}} if name == "open-studio" else {}),
        )["DomainArn"].rsplit("/", 1)[-1]
    domain, other = domains["studio"], domains["open-studio"]
    sm.create_space(
        DomainId=domain,
        SpaceName="ml-space",
        SpaceSettings={"AppType": "JupyterLab", "JupyterLabAppSettings": SPACE_TIMEOUT},
    )
    sm.create_space(
        DomainId=other,
        SpaceName="night-space",
        SpaceSettings={"AppType": "JupyterLab", "JupyterLabAppSettings": SPACE_TIMEOUT},
    )
    for space, app, instance_type, created in (
        ("ml-space", "default", "ml.t3.medium", moments["5h"]),
        ("night-space", "default", "ml.g5.xlarge", moments["8h"]),
        ("night-space", "old", "ml.m5.large", moments["12h"]),
    ):
        sm.create_app(
            DomainId=domain if space == "ml-space" else other,
            SpaceName=space,
            AppType="JupyterLab",
            AppName=app,
            ResourceSpec={"InstanceType": instance_type},
            Tags=knobs(creationTime=created),
        )
    sm.create_app(DomainId=domain, UserProfileName="alice", AppType="JupyterServer", AppName="default")
    sm.delete_app(DomainId=other, SpaceName="night-space", AppType="JupyterLab", AppName="old")
    scratch.domain, scratch.other = domain, other
    return scratch


def workload(name: str) -> Workload:
    return Workload.objects.get(name=name)


def spans(name: str) -> list[tuple[str, str]]:
    return [(s.status, s.origin) for s in WorkloadStatusSpan.objects.filter(workload__name=name).order_by("valid_from")]


def running_hours(name: str) -> float:
    return sum(WorkloadHour.objects.filter(workload__name=name).values_list("instance_hours", flat=True))


def test_lifecycle_scripts_that_stop_idle_instances():
    assert auto_stop_script(AUTOSTOP)
    assert auto_stop_script("aws sagemaker stop-notebook-instance --notebook-instance-name $NAME  # when idle")
    assert not auto_stop_script(CONDA)


def test_notebooks_and_apps_with_auto_stop_spans_and_hours(studio, moments):
    result = runner.run(studio, REGION, "notebooks")
    details = result.details
    assert (details["notebooks"], details["apps"], details["errors"], details["cloudtrail_readable"]) == (
        3,
        4,
        [],
        True,
    )
    assert {n: workload(n).auto_stop for n in ("team-nb", "research-nb", "conda-nb")} == {
        "team-nb": True,
        "research-nb": False,
        "conda-nb": False,
    }
    lab = f"{studio.domain}/ml-space/JupyterLab/default"
    night = f"{studio.other}/night-space/JupyterLab/default"  # a space's timeout alone enables nothing
    old = f"{studio.other}/night-space/JupyterLab/old"
    server = f"{studio.domain}/alice/JupyterServer/default"
    assert (workload(lab).auto_stop, workload(night).auto_stop, workload(server).auto_stop) == (True, False, False)
    assert (workload(lab).space_name, workload(lab).app_type, workload(lab).instance_type) == (
        "ml-space",
        "JupyterLab",
        "ml.t3.medium",
    )
    assert workload("team-nb").tags == {"team": "research"}

    assert spans("team-nb") == [("InService", "cloudtrail")]
    assert WorkloadStatusSpan.objects.get(workload__name="team-nb").valid_from == moments["30h"]
    assert spans("conda-nb") == [("InService", "cloudtrail"), ("Stopped", "cloudtrail")]
    assert spans(old) == [("InService", "cloudtrail"), ("Deleted", "cloudtrail")]
    assert workload(old).deleted_at is not None and workload(old).status == "Deleted"
    for name in ("team-nb", "research-nb", "conda-nb", lab, night, old):
        assert WorkloadStatusSpan.objects.filter(workload__name=name, valid_to__isnull=True).count() == 1

    now = datetime.now(UTC)
    assert running_hours("research-nb") == pytest.approx((now - moments["20h"]).total_seconds() / 3600, abs=0.05)
    assert running_hours(night) == pytest.approx((now - moments["8h"]).total_seconds() / 3600, abs=0.05)
    assert running_hours("conda-nb") == pytest.approx(10, abs=0.05)  # created 10 h ago, stopped just now
    deleted = workload(old).deleted_at
    assert running_hours(old) == pytest.approx((deleted - moments["12h"]).total_seconds() / 3600, abs=0.01)
    assert running_hours(server) == 0  # the JupyterServer runs on a free system instance
    row = WorkloadHour.objects.filter(workload__name="research-nb").order_by("hour").last()
    assert (row.util_source, row.cpu_util_pct, row.gpu_util_pct, row.kind) == ("assumed", None, None, "notebook")
    assert details["hours"] == WorkloadHour.objects.filter(workload__account=studio).count()


def test_collecting_again_opens_no_span_and_duplicates_no_hour(studio):
    runner.run(studio, REGION, "notebooks")
    span_count, hour_count = WorkloadStatusSpan.objects.count(), WorkloadHour.objects.count()
    again = runner.run(studio, REGION, "notebooks")
    assert again.details["spans"] == 0
    assert (WorkloadStatusSpan.objects.count(), WorkloadHour.objects.count()) == (span_count, hour_count)


def test_a_notebook_deleted_between_runs_is_marked_and_its_span_closed(studio):
    runner.run(studio, REGION, "notebooks")
    studio.sagemaker.delete_notebook_instance(NotebookInstanceName="conda-nb")
    result = runner.run(studio, REGION, "notebooks")
    conda = workload("conda-nb")
    assert conda.deleted_at is not None and conda.status == "Deleted"
    assert spans("conda-nb")[-1] == ("Deleted", "cloudtrail")
    assert result.details["notebooks"] == 2


def test_without_cloudtrail_the_history_follows_what_collections_observe(studio, sandbox_control, moments):
    sandbox_control("POST", "faults", {"operation": "LookupEvents", "error": "AccessDeniedException", "status": 400})
    result = runner.run(studio, REGION, "notebooks")
    assert result.details["cloudtrail_readable"] is False and result.details["history"] == "observed"
    assert "AccessDenied" in result.details["cloudtrail_denied"]
    assert spans("team-nb") == [("InService", "observed")]
    assert WorkloadStatusSpan.objects.get(workload__name="team-nb").valid_from == moments["30h"]  # LastModifiedTime
    assert spans("conda-nb") == [("Stopped", "observed")]
    assert running_hours("conda-nb") == 0
    studio.sagemaker.start_notebook_instance(NotebookInstanceName="conda-nb")
    runner.run(studio, REGION, "notebooks")
    assert spans("conda-nb") == [("Stopped", "observed"), ("InService", "observed")]


def test_the_seeded_notebooks_and_apps_as_the_seeding_summary_says(prod, sandbox, settings):
    summary = sandbox["workloads"]
    result = runner.run(prod, "us-east-1", "notebooks")
    assert result.details["errors"] == [] and result.details["cloudtrail_readable"]
    now = datetime.now(UTC)
    lookback = floor_hour(now - timedelta(days=settings.COLLECT_LOOKBACK_DAYS))  # whole hours from there
    for notebook in (n for n in summary["notebooks"] if n["account"] == prod.account_id):
        stored = Workload.objects.get(account=prod, kind="notebook", name=notebook["name"])
        assert (stored.auto_stop, stored.instance_type, stored.status) == (
            notebook["auto_stop"],
            notebook["instance_type"],
            notebook["status"],
        )
        # Hours while in service, from the spans the seeding ran it in, within the collector's lookback.
        expected = sum(
            max(
                (
                    min(datetime.fromisoformat(b) if b else now, now) - max(datetime.fromisoformat(a), lookback)
                ).total_seconds(),
                0,
            )
            for a, b in notebook["spans"]
        )
        assert running_hours(notebook["name"]) == pytest.approx(expected / 3600, abs=0.1), notebook["name"]
        assert WorkloadStatusSpan.objects.filter(workload=stored, valid_to__isnull=True).count() == 1
    for app in (a for a in summary["studio_apps"] if a["account"] == prod.account_id):
        name = f"{app['domain_id']}/{app['space']}/{app['app_type']}/{app['name']}"
        stored = Workload.objects.get(account=prod, kind="studio-app", name=name)
        assert (stored.auto_stop, stored.instance_type) == (app["auto_stop"], app["instance_type"])
        assert (stored.deleted_at is not None) == (app["deleted"] is not None)
        created, deleted = datetime.fromisoformat(app["created"]), app["deleted"]
        end = datetime.fromisoformat(deleted) if deleted else now
        expected = max((end - max(created, lookback)).total_seconds(), 0) / 3600
        assert running_hours(name) == pytest.approx(expected, abs=0.1), name


def test_a_notebook_that_cannot_be_described_is_an_error_not_a_deletion(studio, sandbox_control):
    runner.run(studio, REGION, "notebooks")
    hours = running_hours("research-nb")
    sandbox_control(
        "POST",
        "faults",
        {
            "operation": "DescribeNotebookInstance",
            "error": "InternalFailure",
            "status": 500,
            "body_contains": "research-nb",
        },
    )
    result = runner.run(studio, REGION, "notebooks")
    sandbox_control("DELETE", "faults")
    research = workload("research-nb")
    assert research.deleted_at is None and research.status == "InService"  # listed: still there
    assert spans("research-nb")[-1][0] == "InService"
    assert running_hours("research-nb") >= hours  # none of its hours dropped
    assert any("research-nb" in error["resource"] for error in result.details["errors"])
    assert workload("team-nb").deleted_at is None
