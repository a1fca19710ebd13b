"""Storage recommendations: log retention, capture sampling and capture lifecycle — when each rule fires, what it
proposes, the bytes and saving it computes (recomputed here independently), team scoping, quoting, a fixed
number of queries, and the rules on the collected sandbox fleet."""

import json
import shlex
from datetime import timedelta

import pandas as pd
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from collectors import runner
from collectors.capture import capture_days
from collectors.models import Endpoint, LogGroupSnapshot, StorageLensDay
from dashboard.recommend import engine, savings
from dashboard.recommend.evidence import evidence_window
from dashboard.recommend.models import Recommendation, TeamPolicy
from dashboard.recommend.storage_rules import proposed_retention, storage_drafts
from estimator import estimate_storage
from estimator.prices import storage_usd_per_gb_month
from tests.collectors.conftest import aws_env, prod, register  # noqa: F401
from tests.web.factories import account

GIB = 2**30
Kind = Recommendation.Kind
HOURS_PER_MONTH = 730
ENDPOINT_GROUP = "/aws/sagemaker/Endpoints/churn"


# --- helpers ------------------------------------------------------------------------------------------------------


def now_():
    return timezone.now()


def log_group(
    acct, name, stored_bytes, days_ago=0, region="us-east-1", retention=None, cls="STANDARD", created_days_ago=None
):
    now = now_()
    created = None if created_days_ago is None else now - timedelta(days=created_days_ago)
    return LogGroupSnapshot.objects.create(
        account=acct,
        region=region,
        name=name,
        day=now.date() - timedelta(days=days_ago),
        stored_bytes=int(stored_bytes),
        retention_days=retention,
        log_group_class=cls,
        created_time=created,
        collected_at=now,
    )


def lens(acct, bucket, prefix, stored_bytes, days_ago=0, region="us-east-1", storage_class="STANDARD"):
    return StorageLensDay.objects.update_or_create(
        account=acct,
        day=now_().date() - timedelta(days=days_ago),
        bucket=bucket,
        prefix=prefix,
        storage_class=storage_class,
        defaults={
            "region": region,
            "stored_bytes": int(stored_bytes),
            "object_count": 10,
            "source": "export",
            "collected_at": now_(),
        },
    )[0]


def endpoint(
    acct,
    name,
    region="us-east-1",
    destination="s3://capture-bucket/datacapture",
    pct=100,
    deleted=False,
    enabled=True,
    created_days_ago=60,
):
    now = now_()
    return Endpoint.objects.create(
        account=acct,
        region=region,
        name=name,
        status="InService",
        config_name=f"{name}-config-v1",
        capture_enabled=enabled,
        capture_pct=pct,
        capture_destination=destination,
        first_seen=now,
        last_seen=now,
        created_time=now - timedelta(days=created_days_ago),
        deleted_at=now - timedelta(days=1) if deleted else None,
    )


def expected_saving(service, storage_class, stored_bytes, region="us-east-1") -> dict:
    """A month of ``stored_bytes``, straight from the estimator and the price table."""
    frame = pd.DataFrame(
        [
            {
                "service": service,
                "storage_class": storage_class,
                "stored_bytes": float(stored_bytes),
                "hours": float(HOURS_PER_MONTH),
                "region": region,
            }
        ]
    )
    out = estimate_storage(frame).iloc[0]
    price = storage_usd_per_gb_month(service, storage_class, region)
    return {
        "kwh": out["storage_kwh"],
        "co2e_kg": out["co2e_kg"],
        "co2e_kg_low": out["co2e_kg_low"],
        "co2e_kg_high": out["co2e_kg_high"],
        "usd": price * stored_bytes / GIB,
    }


def assert_saving(saving, expected: dict) -> None:
    for name, value in expected.items():
        assert getattr(saving, name) == (None if value is None else pytest.approx(value, rel=1e-9)), name


def drafts_of(team, kind, **policy):
    return [d for d in storage_drafts(team, TeamPolicy(team=team, **policy), now_()) if d.kind == kind]


def argv(cli: str) -> list[list[str]]:
    """The commands of a ``commands()`` line, each split as a POSIX shell would."""
    return [shlex.split(line) for line in cli.replace("\\\n", "").split(" && ")]


@pytest.fixture
def team(teams):
    return teams[0]


@pytest.fixture
def acct(team):
    return account(team, "111122223333")


@pytest.fixture
def other_acct(teams):
    return account(teams[1], "999988887777")


# --- log retention ------------------------------------------------------------------------------------------------


def test_log_retention_fires_on_a_never_expiring_group_with_growth_from_snapshots(team, acct):
    churn = endpoint(acct, "churn", destination="", pct=None, enabled=False)
    log_group(acct, ENDPOINT_GROUP, 20 * GIB, days_ago=10, created_days_ago=200)
    log_group(acct, ENDPOINT_GROUP, 22 * GIB, days_ago=5, created_days_ago=200)
    log_group(acct, ENDPOINT_GROUP, 25 * GIB, created_days_ago=200)
    log_group(acct, ENDPOINT_GROUP, 5 * GIB, days_ago=20, created_days_ago=200)  # before the 14-day window
    [draft] = drafts_of(team, Kind.LOG_RETENTION)
    rate = 5 * GIB / 10  # 20 -> 25 GiB in 10 days
    dropped = 25 * GIB - rate * 30
    assert dropped == 10 * GIB
    assert draft.subject == f"log-group:111122223333/us-east-1/{ENDPOINT_GROUP}"
    assert (draft.account_id, draft.region, draft.endpoint_id) == (acct.pk, "us-east-1", churn.pk)
    assert draft.title == f"Set a 30-day retention on {ENDPOINT_GROUP} (never expires, 25.0 GiB)"
    assert draft.proposed == {"retention_days": 30}
    assert draft.confidence == "high"
    assert draft.evidence["basis"] == "snapshots"
    assert draft.evidence["rate_bytes_per_day"] == pytest.approx(rate)
    assert draft.evidence["dropped_bytes"] == pytest.approx(dropped)
    assert draft.evidence["stored_bytes"] == 25 * GIB and draft.evidence["retention_days"] is None
    assert draft.evidence["snapshot_days"] == 3 and draft.evidence_hours == 72
    today = now_().date()
    # the window runs to the end of the last snapshot day, and the evidence names the days compared
    assert draft.evidence_start.date() == today - timedelta(days=10)
    assert draft.evidence_end.date() == today + timedelta(days=1)
    first = (today - timedelta(days=10)).isoformat()
    assert draft.evidence["compared"] == f"stored bytes on {first} and {today.isoformat()}, 3 snapshot days"
    assert_saving(draft.saving, expected_saving("logs", "STANDARD", dropped))
    assert draft.saving.co2e_kg > 0 and draft.saving.usd == pytest.approx(0.03 * 10)  # USD 0.03 per GB-month
    assert shlex.split(draft.cli_command) == [
        "aws",
        "logs",
        "put-retention-policy",
        "--log-group-name",
        ENDPOINT_GROUP,
        "--retention-in-days",
        "30",
        "--region",
        "us-east-1",
    ]


def test_log_retention_from_the_age_counts_only_the_days_the_current_retention_keeps(team, acct):
    log_group(
        acct,
        "/aws/sagemaker/TransformJobs",
        9 * GIB,
        retention=90,
        cls="INFREQUENT_ACCESS",
        created_days_ago=400,
        region="eu-west-1",
    )
    [draft] = drafts_of(team, Kind.LOG_RETENTION)
    dropped = 9 * GIB - 9 * GIB / 90 * 30  # the data spans 90 days (the retention), not 400
    assert draft.evidence["basis"] == "age" and draft.confidence == "medium"
    assert draft.evidence["dropped_bytes"] == pytest.approx(dropped)
    assert draft.endpoint_id is None and draft.region == "eu-west-1"
    assert draft.title == "Set a 30-day retention on /aws/sagemaker/TransformJobs (90-day retention, 9.0 GiB)"
    assert_saving(draft.saving, vars(savings.storage_monthly("logs", "INFREQUENT_ACCESS", dropped, "eu-west-1")))
    assert draft.saving.co2e_kg > 0 and draft.saving.usd is None  # the price table has no eu-west-1 storage price


def test_log_retention_with_an_unknown_age_assumes_a_year_at_low_confidence(team, acct):
    log_group(acct, "/aws/sagemaker/TrainingJobs", 40 * GIB)  # no creation time, one snapshot
    [draft] = drafts_of(team, Kind.LOG_RETENTION)
    assert draft.evidence["basis"] == "assumed" and draft.confidence == "low"
    assert draft.evidence["dropped_bytes"] == pytest.approx(40 * GIB * (1 - 30 / 365))
    assert "unknown" in draft.caveats


def test_a_group_already_expiring_is_not_credited_with_a_tiny_net_growth(team, acct):
    """At steady state a 60-day group barely grows; its intake is at least stored / 60 a day."""
    log_group(acct, "/app/steady", 12 * GIB + 1000, days_ago=7, retention=60)
    log_group(acct, "/app/steady", 12 * GIB + 2000, retention=60)
    [draft] = drafts_of(team, Kind.LOG_RETENTION)
    stored = 12 * GIB + 2000
    assert draft.evidence["basis"] == "snapshots"
    assert draft.evidence["dropped_bytes"] == pytest.approx(stored / 2)


def test_a_young_group_is_flagged_with_no_saving_yet(team, acct):
    log_group(acct, "/app/young", 3 * GIB, created_days_ago=10)
    [draft] = drafts_of(team, Kind.LOG_RETENTION)
    assert draft.evidence["dropped_bytes"] == 0 and draft.saving.co2e_kg == 0
    assert "Nothing in the group is older than 30 days" in draft.caveats


def test_a_single_snapshot_day_is_named_as_such_and_its_window_is_not_empty(team, acct):
    """It used to read "24 hours, 2026-11-26 00:00 – 2026-11-26 00:00": an hour window of no length."""
    log_group(acct, "/app/young", 3 * GIB, created_days_ago=10)
    engine.recompute(team)
    rec = Recommendation.objects.get(team=team, kind=Kind.LOG_RETENTION)
    today = now_().date().isoformat()
    assert evidence_window(rec) == f"stored bytes on {today}, one snapshot day"
    assert rec.evidence_end > rec.evidence_start and "00:00 –" not in evidence_window(rec)


def test_log_retention_does_not_fire_when_small_already_short_gone_or_someone_elses(team, acct, other_acct):
    log_group(acct, "/app/small", GIB - 1)  # under log_min_bytes
    log_group(acct, "/app/thirty", 50 * GIB, retention=30)
    log_group(acct, "/app/fortnight", 50 * GIB, retention=14)
    log_group(acct, "/app/deleted", 50 * GIB, days_ago=1)  # not on the account/region's latest day
    log_group(acct, "/app/present", 50 * GIB, retention=7)  # makes today the latest day
    log_group(other_acct, "/app/other-team", 50 * GIB)
    assert drafts_of(team, Kind.LOG_RETENTION) == []
    assert [d.subject for d in drafts_of(team, Kind.LOG_RETENTION, log_min_bytes=GIB - 1)] == [
        "log-group:111122223333/us-east-1//app/small"
    ]


def test_the_proposed_retention_is_the_longest_value_aws_accepts_within_the_policy(team, acct):
    assert (proposed_retention(45), proposed_retention(400), proposed_retention(2)) == (30, 400, 1)
    assert proposed_retention(30) == 30 and proposed_retention(3653) == 3653 and proposed_retention(0) is None
    log_group(acct, "/app/never", 50 * GIB)
    log_group(acct, "/app/sixty", 50 * GIB, retention=60)
    log_group(acct, "/app/two-years", 50 * GIB, retention=731)
    proposals = {
        policy: {
            d.subject.rsplit("/", 1)[1]: d.proposed["retention_days"]
            for d in drafts_of(team, Kind.LOG_RETENTION, log_retention_days=policy)
        }
        for policy in (45, 400, 2)
    }
    assert proposals == {
        45: {"never": 30, "sixty": 30, "two-years": 30},
        400: {"never": 400, "two-years": 400},
        2: {"never": 1, "sixty": 1, "two-years": 1},
    }


def test_a_hostile_log_group_name_is_quoted_in_the_command(team, acct):
    name = '/aws/x\'; rm -rf ~ #$(curl evil) "`id`" && echo pwned\n|'
    log_group(acct, name, 5 * GIB)
    [draft] = drafts_of(team, Kind.LOG_RETENTION)
    words = shlex.split(draft.cli_command)
    assert words[words.index("--log-group-name") + 1] == name
    assert len(words) == 9


# --- capture sampling ---------------------------------------------------------------------------------------------


def capture_prefix(acct, name="clicks", bucket="capture-bucket", first=50 * GIB, last=60 * GIB, days=10):
    """A prefix growing 1 GiB a day by default, with a nested Storage Lens row that must not count twice."""
    prefix = f"datacapture/{name}/"
    lens(acct, bucket, prefix, first, days_ago=days)
    lens(acct, bucket, prefix, last - GIB, days_ago=0)
    lens(acct, bucket, prefix, GIB, days_ago=0, storage_class="STANDARD_IA")
    lens(acct, bucket, f"{prefix}AllTraffic/", last - GIB - 5, days_ago=0)  # inside the prefix above
    lens(acct, bucket, "", 900 * GIB, days_ago=0)  # the bucket row
    lens(acct, bucket, "datacapture/someone-else/", 70 * GIB, days_ago=0)
    return prefix


def test_capture_sampling_fires_at_100_percent_on_a_large_prefix(team, acct):
    clicks = endpoint(acct, "clicks")
    capture_prefix(acct)
    [draft] = drafts_of(team, Kind.CAPTURE_SAMPLING)
    rate = 10 * GIB / 10
    avoided = rate * 30 * (1 - 10 / 100)
    assert avoided == 27 * GIB
    assert draft.subject == f"capture-sampling:{clicks.pk}"
    assert (draft.account_id, draft.region, draft.endpoint_id) == (acct.pk, "us-east-1", clicks.pk)
    assert draft.proposed == {"capture_pct": 10}
    assert draft.title == "Capture 10 % of requests on clicks instead of 100 % (60.0 GiB captured)"
    assert draft.evidence["stored_bytes"] == 60 * GIB  # both classes, the nested row once
    assert draft.evidence["growth_bytes_per_day"] == pytest.approx(rate) and draft.confidence == "high"
    assert draft.evidence["avoided_bytes_per_month"] == pytest.approx(avoided)
    assert draft.evidence_hours == 48
    assert_saving(draft.saving, expected_saving("s3", "STANDARD", avoided))
    assert "accumulates" in draft.caveats and "describe-endpoint-config" in draft.caveats
    create, update = argv(draft.cli_command)
    assert create[:5] == ["aws", "sagemaker", "create-endpoint-config", "--endpoint-config-name", "clicks-capture10pct"]
    assert create[create.index("--data-capture-config") + 1] == (
        "EnableCapture=true,InitialSamplingPercentage=10,DestinationS3Uri=s3://capture-bucket/datacapture,"
        "CaptureOptions=[{CaptureMode=Input},{CaptureMode=Output}]"
    )
    assert create[create.index("--production-variants") + 1] == "file://production-variants.json"
    assert update == [
        "aws",
        "sagemaker",
        "update-endpoint",
        "--endpoint-name",
        "clicks",
        "--endpoint-config-name",
        "clicks-capture10pct",
        "--region",
        "us-east-1",
    ]


def test_capture_sampling_with_a_single_lens_day_assumes_two_weeks_of_growth(team, acct):
    endpoint(acct, "clicks")
    lens(acct, "capture-bucket", "datacapture/clicks/", 14 * GIB)
    [draft] = drafts_of(team, Kind.CAPTURE_SAMPLING, capture_sampling_pct=20)
    assert draft.confidence == "low" and draft.evidence["basis"] == "assumed"
    assert draft.evidence["avoided_bytes_per_month"] == pytest.approx(GIB * 30 * 0.8)
    assert draft.proposed == {"capture_pct": 20}


def test_capture_sampling_does_not_fire_when_already_sampled_small_deleted_off_or_someone_elses(team, acct, other_acct):
    for name, kwargs in {
        "sampled": {"pct": 20},
        "deleted": {"deleted": True},
        "off": {"enabled": False},
        "small": {},
        "unmeasured": {},
    }.items():
        endpoint(acct, name, **kwargs)
        if name not in ("small", "unmeasured"):
            capture_prefix(acct, name)
    lens(acct, "capture-bucket", "datacapture/small/", GIB - 1)
    endpoint(other_acct, "theirs")
    capture_prefix(other_acct, "theirs")
    endpoint(acct, "in-their-bucket", destination="s3://their-bucket/datacapture")
    capture_prefix(other_acct, "in-their-bucket", bucket="their-bucket")  # their account's Lens, not ours
    assert drafts_of(team, Kind.CAPTURE_SAMPLING) == []
    assert [
        d.title.split(" on ")[1].split()[0] for d in drafts_of(team, Kind.CAPTURE_SAMPLING, capture_min_bytes=GIB - 1)
    ] == ["small"]


def test_an_awkward_destination_is_passed_as_json(team, acct):
    destination = "s3://capture-bucket/odd,path=x"
    endpoint(acct, "clicks", destination=destination)
    lens(acct, "capture-bucket", "odd,path=x/clicks/", 5 * GIB)
    [draft] = drafts_of(team, Kind.CAPTURE_SAMPLING)
    create, _ = argv(draft.cli_command)
    config = json.loads(create[create.index("--data-capture-config") + 1])
    assert config["DestinationS3Uri"] == destination and config["InitialSamplingPercentage"] == 10


# --- capture lifecycle --------------------------------------------------------------------------------------------


def test_capture_lifecycle_proposes_an_expiry_for_a_large_standard_prefix(team, acct):
    clicks = endpoint(acct, "clicks", pct=20)
    prefix = capture_prefix(acct)
    [draft] = drafts_of(team, Kind.CAPTURE_LIFECYCLE)
    standard = 59 * GIB  # the STANDARD_IA gibibyte is not expired by this rule
    dropped = standard - GIB * 30  # 1 GiB a day, 30 days kept
    assert draft.subject == f"capture-lifecycle:111122223333/capture-bucket/{prefix}"
    assert (draft.account_id, draft.endpoint_id, draft.region) == (acct.pk, clicks.pk, "us-east-1")
    assert draft.confidence == "low"
    assert draft.evidence["dropped_bytes"] == pytest.approx(dropped)
    assert draft.title == "Expire clicks's captures after 30 days (s3://capture-bucket/datacapture/clicks/, 59.0 GiB)"
    assert_saving(draft.saving, expected_saving("s3", "STANDARD", dropped))
    assert "get-bucket-lifecycle-configuration" in draft.caveats and "replaces" in draft.caveats
    words = shlex.split(draft.cli_command)
    assert words[:5] == ["aws", "s3api", "put-bucket-lifecycle-configuration", "--bucket", "capture-bucket"]
    rules = json.loads(words[words.index("--lifecycle-configuration") + 1])["Rules"]
    assert rules == [
        {
            "ID": "wattson-capture-expiry-clicks",
            "Status": "Enabled",
            "Filter": {"Prefix": prefix},
            "Expiration": {"Days": 30},
        }
    ]
    [longer] = drafts_of(team, Kind.CAPTURE_LIFECYCLE, capture_expiry_days=45)
    assert longer.evidence["dropped_bytes"] == pytest.approx(standard - GIB * 45)


def test_capture_lifecycle_does_not_fire_when_small_flat_young_or_someone_elses(team, acct, other_acct):
    endpoint(acct, "cold")
    lens(acct, "capture-bucket", "datacapture/cold/", 80 * GIB, storage_class="GLACIER")  # nothing in STANDARD
    endpoint(acct, "flat", pct=20)  # captures, yet does not grow: a rule already expires it
    lens(acct, "capture-bucket", "datacapture/flat/", 30 * GIB, days_ago=7)
    lens(acct, "capture-bucket", "datacapture/flat/", 30 * GIB)
    endpoint(acct, "young", created_days_ago=10)  # nothing older than 30 days
    lens(acct, "capture-bucket", "datacapture/young/", 10 * GIB)
    endpoint(other_acct, "theirs")
    capture_prefix(other_acct, "theirs")
    assert drafts_of(team, Kind.CAPTURE_LIFECYCLE) == []


def test_a_deleted_endpoints_flat_captures_expire_entirely_once_old_enough(team, acct):
    old = endpoint(acct, "gone", deleted=True)
    Endpoint.objects.filter(pk=old.pk).update(deleted_at=now_() - timedelta(days=40))
    lens(acct, "capture-bucket", "datacapture/gone/", 30 * GIB, days_ago=7)
    lens(acct, "capture-bucket", "datacapture/gone/", 30 * GIB)
    assert drafts_of(team, Kind.CAPTURE_SAMPLING) == []
    [draft] = drafts_of(team, Kind.CAPTURE_LIFECYCLE)
    assert draft.evidence["dropped_bytes"] == 30 * GIB and draft.evidence["basis"] == "stopped"


# --- queries ------------------------------------------------------------------------------------------------------


def count_queries(team) -> int:
    with CaptureQueriesContext(connection) as queries:
        storage_drafts(team, TeamPolicy(team=team), now_())
    return len(queries)


def test_the_number_of_queries_does_not_grow_with_the_data(team, acct):
    log_group(acct, "/app/a", 5 * GIB)
    endpoint(acct, "a")
    capture_prefix(acct, "a")
    few = count_queries(team)
    second = account(team, "222233334444")
    for i in range(12):
        log_group(acct if i % 2 else second, f"/app/many-{i}", (i + 2) * GIB, region=("us-east-1", "eu-west-1")[i % 2])
        log_group(second, f"/app/many-{i}", (i + 1) * GIB, days_ago=3)
        endpoint(second if i % 3 else acct, f"ep-{i}", region=("us-east-1", "eu-west-1")[i % 2])
        capture_prefix(second if i % 3 else acct, f"ep-{i}")
    many = count_queries(team)
    assert len(storage_drafts(team, TeamPolicy(team=team), now_())) > 30
    assert many == few <= 6


# --- the sandbox fleet, collected ---------------------------------------------------------------------------------


def test_the_rules_on_the_collected_sandbox_fleet(prod):
    for region in prod.regions:
        runner.run(prod, region, "log_groups")
        runner.run(prod, region, "inventory")
    runner.run(prod, "us-east-1", "storage_lens")
    team, policy = prod.team, TeamPolicy(team=prod.team)
    drafts = storage_drafts(team, policy, now_())

    snapshots = LogGroupSnapshot.objects.filter(account=prod)
    never = {
        f"log-group:{prod.account_id}/{s.region}/{s.name}"
        for s in snapshots
        if s.retention_days is None and s.stored_bytes >= GIB
    }
    too_long = {
        f"log-group:{prod.account_id}/{s.region}/{s.name}"
        for s in snapshots
        if s.retention_days is not None and s.retention_days > 30 and s.stored_bytes >= GIB
    }
    logs = {d.subject: d for d in drafts if d.kind == Kind.LOG_RETENTION}
    assert never and set(logs) == never | too_long
    training = logs[f"log-group:{prod.account_id}/us-east-1//aws/sagemaker/TrainingJobs"]
    assert training.proposed == {"retention_days": 30} and training.evidence["basis"] == "age"
    assert training.evidence["dropped_bytes"] == pytest.approx(42e9 * (1 - 30 / 400), rel=1e-3)
    tied = [d for d in logs.values() if d.endpoint_id]
    assert tied and all(Endpoint.objects.get(pk=d.endpoint_id).name == d.subject.rsplit("/", 1)[1] for d in tied)

    clickstream = Endpoint.objects.get(account=prod, name="clickstream-scorer")
    assert clickstream.capture_pct == 100 and clickstream.deleted_at is None
    captured = list(capture_days(clickstream))[-1]["stored_bytes"]
    assert captured >= policy.capture_min_bytes  # seed.py: ~20 GB a day on top of a month's backlog
    sampling = {d.endpoint_id: d for d in drafts if d.kind == Kind.CAPTURE_SAMPLING}
    assert set(sampling) == {clickstream.pk}  # fraud-scoring samples 20 %, translate-inf1 10 %
    assert sampling[clickstream.pk].evidence["stored_bytes"] == captured
    assert sampling[clickstream.pk].evidence["basis"] == "snapshots" and sampling[clickstream.pk].saving.co2e_kg > 0
    lifecycle = {d.endpoint_id: d for d in drafts if d.kind == Kind.CAPTURE_LIFECYCLE}
    assert clickstream.pk in lifecycle and lifecycle[clickstream.pk].saving.co2e_kg > 0
    assert all(d.account_id == prod.pk for d in drafts)


# --- the storage page reads the same facts ------------------------------------------------------------------------


def test_the_storage_page_and_the_rules_read_the_same_snapshots_and_capture_prefixes(client, alice, team, acct):
    """footprint.storage is the one reader: the page's log group and capture figures are the rules' evidence."""
    log_group(acct, ENDPOINT_GROUP, 300 * GIB, days_ago=10, created_days_ago=400)
    log_group(acct, ENDPOINT_GROUP, 320 * GIB, created_days_ago=400)
    churn = endpoint(acct, "churn")
    lens(acct, "capture-bucket", "datacapture/", 400 * GIB)  # the bucket's other captures: not churn's
    lens(acct, "capture-bucket", "datacapture/churn/", 90 * GIB, days_ago=7)
    lens(acct, "capture-bucket", "datacapture/churn/", 100 * GIB)
    lens(acct, "capture-bucket", "datacapture/churn/AllTraffic/", 80 * GIB)  # nested: counted once
    lens(acct, "capture-bucket", "datacapture/churn/", 5 * GIB, storage_class="GLACIER")
    logs = drafts_of(team, Kind.LOG_RETENTION)
    sampling = drafts_of(team, Kind.CAPTURE_SAMPLING)
    assert len(logs) == 1 and len(sampling) == 1

    client.force_login(alice)
    context = client.get("/storage/", {"period": "30d"}).context
    page_logs = {row["name"]: row for row in context["tables"][0].rows}
    assert page_logs[ENDPOINT_GROUP]["stored_bytes"] == logs[0].evidence["stored_bytes"] == 320 * GIB
    assert page_logs[ENDPOINT_GROUP]["retention_days"] == logs[0].evidence["retention_days"] is None
    assert page_logs[ENDPOINT_GROUP]["endpoint_id"] == logs[0].endpoint_id == churn.pk
    assert context["summary"]["capture_gib"] * GIB == sampling[0].evidence["stored_bytes"] == 105 * GIB
    assert sampling[0].evidence["standard_bytes"] == 100 * GIB
