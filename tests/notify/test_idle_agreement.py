"""One definition of idle (``dashboard.footprint.idle``, built by ``dashboard.recommend.policy.idle_policy`` with
the team's CPU and GPU limits): alerts, recommendations and the weekly digest agree on which endpoints are idle,
which are corroborated and since when, for the same hourly history, at a fixed time (no wall clock), whatever
limits the team chose."""

import datetime as dt

import pytest

from collectors.models import Endpoint, VariantConfig, VariantHour
from dashboard.footprint.idle import IdlePolicy
from dashboard.notify import alerts, digest
from dashboard.notify.models import Alert, NotificationSettings
from dashboard.recommend.draft import Kind
from dashboard.recommend.endpoint_rules import endpoint_drafts
from dashboard.recommend.models import TeamPolicy
from dashboard.recommend.policy import idle_policy
from tests.web import factories

pytestmark = pytest.mark.urls("tests.notify.digest_urls")

END = dt.datetime(2026, 11, 16, tzinfo=dt.UTC)  # a Monday: the digest's week is 9 to 15 November
WEEK_START = dt.date(2026, 11, 9)
HOURS = 14 * 24
H = dt.timedelta(hours=1)


def endpoint(owner, name: str, quiet_from: dt.datetime | None, cpu_util_pct: float = 1.0, count: int = 1):
    """An endpoint with 14 days of hours before END, serving inferences until ``quiet_from`` (None: always)."""
    start = END - HOURS * H
    row = Endpoint.objects.create(
        account=owner, region="us-east-1", name=name, status="InService", first_seen=start, last_seen=END
    )
    VariantConfig.objects.create(
        endpoint=row,
        variant_name="AllTraffic",
        valid_from=start,
        instance_type="ml.g5.xlarge",
        initial_instance_count=count,
        current_instance_count=count,
    )
    VariantHour.objects.bulk_create(
        VariantHour(
            endpoint=row,
            variant_name="AllTraffic",
            hour=hour,
            instance_type="ml.g5.xlarge",
            instance_hours=count,
            cpu_util_pct=cpu_util_pct,
            gpu_util_pct=0.5,
            memory_util_pct=30.0,
            invocations=0.0 if quiet_from and hour >= quiet_from else 200.0,
            collected_at=END,
        )
        for hour in (start + n * H for n in range(HOURS))
    )
    return row


@pytest.fixture
def fleet(teams):
    owner = factories.account(teams[0], "111122223333", "prod")
    rows = {
        "went-idle": endpoint(owner, "went-idle", END - 5 * 24 * H),  # quiet since Wednesday 11 Nov 00:00
        "idle-before": endpoint(owner, "idle-before", END - 11 * 24 * H, count=2),  # quiet since 5 Nov: idle from 8 Nov
        "paused": endpoint(owner, "paused", END - 2 * 24 * H),  # quiet for 2 days: under the 3 the team asks
        "busy": endpoint(owner, "busy", None),
        "batch": endpoint(owner, "batch", END - 5 * 24 * H, cpu_util_pct=60.0),  # no inference, busy CPU
    }
    factories.estimate()
    # the same threshold for both surfaces: 72 hours (the alert's idle_hours, the recommendation's idle_days)
    NotificationSettings.objects.create(team=teams[0], idle_hours=72)
    TeamPolicy.objects.create(team=teams[0], idle_days=3)
    return rows


def surfaces(team) -> tuple[dict, dict, dict, dict]:
    """What each surface calls idle at END: alerts (name: idle since), recommendations (name: idle since, and name:
    confidence) and the digest of the week before END (name: idle since)."""
    alerts.evaluate(team, END + dt.timedelta(minutes=5))
    alerted = {a.endpoint.name: a.idle_since for a in Alert.objects.filter(team=team).select_related("endpoint")}
    drafts = [d for d in endpoint_drafts(team, TeamPolicy.objects.get(team=team), END) if d.kind == Kind.IDLE]
    names = dict(Endpoint.objects.filter(account__team=team).values_list("pk", "name"))
    recommended = {names[d.endpoint_id]: dt.datetime.fromisoformat(d.evidence["idle_since"]) for d in drafts}
    confidence = {names[d.endpoint_id]: d.confidence for d in drafts}
    went_idle = {row["name"]: row["idle_since"] for row in digest.content(team, WEEK_START)["newly_idle"]}
    return alerted, recommended, confidence, went_idle


def digest_corroborated(team) -> set[str]:
    return {row["name"] for row in digest.content(team, WEEK_START)["newly_idle"] if row["corroborated"]}


def test_alerts_recommendations_and_the_digest_agree_on_which_endpoints_are_idle_and_since_when(teams, fleet):
    team = teams[0]
    notify_policy = alerts.alerting_policy(team, NotificationSettings.objects.get(team=team))
    assert notify_policy == idle_policy(TeamPolicy.objects.get(team=team), 3 * 24) == IdlePolicy(72, 5.0, 5.0)
    facts = notify_policy.assess([row.pk for row in fleet.values()], END)
    expected = {"went-idle": END - 5 * 24 * H, "idle-before": END - 11 * 24 * H}
    assert {name: facts[row.pk].since for name, row in fleet.items() if facts[row.pk].idle} == {
        **expected,
        "batch": END - 5 * 24 * H,
    }

    alerted, recommended, confidence, went_idle = surfaces(team)

    # corroborated idleness: alerted and recommended (high confidence) alike, with the idle period's true start
    assert alerted == expected
    assert recommended == {**expected, "batch": END - 5 * 24 * H}
    assert confidence == {
        "went-idle": "high",
        "idle-before": "high",
        "batch": "medium",  # a busy CPU without inferences: recommended with caveats, never paged
    }
    # the digest: those that became idle during the week (idle-before already was), since the same hour, batch too
    # (idle by the definition, whether or not corroborated), marked as not corroborated
    assert went_idle == {"went-idle": expected["went-idle"], "batch": END - 5 * 24 * H}
    assert digest_corroborated(team) == {"went-idle"}
    # and what the alert says it cost is the idle period's, as the policy measured it
    alert = Alert.objects.get(endpoint=fleet["idle-before"])
    period = facts[fleet["idle-before"].pk]
    assert alert.evidence["hours"] == period.hours == 11 * 24
    assert alert.evidence["instance_hours"] == pytest.approx(2 * 11 * 24)
    assert alert.evidence["energy_kwh"] == pytest.approx(round(period.energy_kwh, 4)) and period.energy_kwh > 0


@pytest.mark.parametrize(
    ("max_cpu_pct", "max_gpu_pct", "corroborated"),
    [
        (70.0, 5.0, {"went-idle", "idle-before", "batch"}),  # batch's 60 % CPU is now under the team's limit
        (5.0, 0.25, set()),  # every endpoint's GPU (0.5 %) is over it: nothing corroborated
        (0.5, 5.0, set()),  # the quiet endpoints' CPU (1 %) is over it
    ],
)
def test_a_team_with_its_own_limits_gets_the_same_idle_endpoints_from_alerts_digest_and_recommendations(
    teams, fleet, max_cpu_pct, max_gpu_pct, corroborated
):
    """The team's CPU and GPU limits (on its policy, edited on the Alerts page) decide corroboration for all three
    surfaces at once: there is no second threshold for recommendations."""
    team = teams[0]
    TeamPolicy.objects.filter(team=team).update(idle_max_cpu_pct=max_cpu_pct, idle_max_gpu_pct=max_gpu_pct)
    policy = TeamPolicy.objects.get(team=team)
    assert alerts.alerting_policy(team, NotificationSettings.objects.get(team=team)) == idle_policy(
        policy, policy.idle_days * 24
    )
    since = {"went-idle": END - 5 * 24 * H, "idle-before": END - 11 * 24 * H, "batch": END - 5 * 24 * H}

    alerted, recommended, confidence, went_idle = surfaces(team)

    assert alerted == {name: since[name] for name in corroborated}
    assert recommended == since  # idle whatever the limits: they only decide corroboration
    assert confidence == {name: "high" if name in corroborated else "medium" for name in since}
    # became idle during the week (idle-before already was before it), corroborated or not, and marked so
    assert went_idle == {name: since[name] for name in ("went-idle", "batch")}
    assert digest_corroborated(team) == corroborated - {"idle-before"}


def test_the_digest_lists_an_endpoint_that_became_idle_late_in_the_week_once(teams, fleet):
    """Quiet from Sunday 20:00: idle (24 h) only in the next week, which lists it with its Sunday start."""
    NotificationSettings.objects.filter(team=teams[0]).update(idle_hours=24)
    late = fleet["went-idle"]
    VariantHour.objects.filter(endpoint=late).update(invocations=200.0)
    VariantHour.objects.filter(endpoint=late, hour__gte=END - 4 * H).update(invocations=0.0)
    next_week_hours = [
        VariantHour(
            endpoint=late,
            variant_name="AllTraffic",
            hour=END + n * H,
            instance_type="ml.g5.xlarge",
            instance_hours=1,
            cpu_util_pct=1.0,
            gpu_util_pct=0.5,
            invocations=0.0,
            collected_at=END,
        )
        for n in range(7 * 24)
    ]
    VariantHour.objects.bulk_create(next_week_hours)
    this_week = [row["name"] for row in digest.content(teams[0], WEEK_START)["newly_idle"]]
    next_week = {
        row["name"]: row["idle_since"]
        for row in digest.content(teams[0], WEEK_START + dt.timedelta(days=7))["newly_idle"]
    }
    assert "went-idle" not in this_week and next_week.get("went-idle") == END - 4 * H
