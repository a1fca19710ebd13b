"""A recommendation's life: not duplicated when re-computed; dismissed and snoozed ones stay so; resolved when the
configuration changes as proposed; withdrawn when the evidence goes away. And the page that shows them."""

import csv
import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from collectors.models import VariantHour
from dashboard.recommend import engine
from dashboard.recommend.models import Recommendation, TeamPolicy
from tests.web import factories
from tests.web.html import table

Kind, Status = Recommendation.Kind, Recommendation.Status


@pytest.fixture
def oversized(teams):
    owner = factories.account(teams[0], "111122223333", "prod")
    endpoint = factories.endpoint(
        owner, "oversized", instance_type="ml.m5.4xlarge", count=2, hours=48, cpu_util_pct=2.0, memory_util_pct=5.0
    )
    engine.recompute(teams[0])
    return endpoint


def sizing(endpoint) -> Recommendation:
    return Recommendation.objects.get(endpoint=endpoint, kind=Kind.OVERPROVISIONED)


def test_recomputing_updates_instead_of_duplicating(teams, oversized):
    first = sizing(oversized)
    outcome = engine.recompute(teams[0])
    assert outcome.created == 0 and outcome.updated >= 1
    again = sizing(oversized)
    assert again.pk == first.pk and again.computed_at > first.computed_at and again.first_seen == first.first_seen
    assert Recommendation.objects.filter(team=teams[0]).count() == outcome.updated


def test_dismissed_and_snoozed_stay_so_and_a_snooze_ends_on_its_date(teams, oversized):
    rec = sizing(oversized)
    rec.status, rec.dismissed_reason = Status.DISMISSED, "capacity for Black Friday"
    rec.save()
    silicon = Recommendation.objects.get(endpoint=oversized, kind=Kind.SILICON)
    silicon.status, silicon.snoozed_until = Status.SNOOZED, timezone.now().date() + timedelta(days=3)
    silicon.save()
    engine.recompute(teams[0])
    assert sizing(oversized).status == Status.DISMISSED
    assert sizing(oversized).dismissed_reason == "capacity for Black Friday"
    assert Recommendation.objects.get(pk=silicon.pk).status == Status.SNOOZED
    engine.recompute(teams[0], now=timezone.now() + timedelta(days=3))
    assert Recommendation.objects.get(pk=silicon.pk).status == Status.OPEN


def test_a_recommendation_is_resolved_when_the_configuration_changes_as_proposed(teams, oversized):
    rec = sizing(oversized)
    proposed = rec.proposed
    factories.change_type(
        oversized, "AllTraffic", proposed["instance_type"], hours_ago=2, count=proposed["instance_count"]
    )
    outcome = engine.recompute(teams[0])
    rec.refresh_from_db()
    assert rec.status == Status.RESOLVED and rec.resolved_at is not None
    assert outcome.resolved >= 1


def test_one_whose_evidence_goes_away_is_withdrawn(teams, oversized):
    VariantHour.objects.filter(endpoint=oversized).update(cpu_util_pct=70.0, memory_util_pct=55.0)  # busy now
    engine.recompute(teams[0], now=timezone.now())
    assert sizing(oversized).status == Status.WITHDRAWN


def test_the_page_sorts_filters_and_downloads(client, alice, teams, oversized):
    client.force_login(alice)
    page = client.get(reverse("recommendations"), {"sort": "co2e"}).content.decode()
    rows = table(page, "recommendations")
    co2e = [float(row[3].replace(",", "")) for row in rows[1:]]
    assert (
        co2e == sorted(co2e, reverse=True)
        and len(co2e) == Recommendation.objects.filter(team=teams[0], status=Status.OPEN).count()
    )
    only = table(client.get(reverse("recommendations"), {"kind": "silicon"}).content.decode(), "recommendations")
    assert {row[1] for row in only[1:]} == {"More efficient silicon"}
    download = client.get(reverse("recommendations"), {"kind": "silicon", "csv": "recommendations"})
    assert list(csv.reader(io.StringIO(download.content.decode())))[1][0] == only[1][0]
    bad = client.get(reverse("recommendations"), {"kind": "teleport", "sort": "vibes"})
    assert bad.status_code == 200 and set(bad.context["errors"]) == {"kind", "sort"}
    endpoint_page = client.get(reverse("endpoint", args=[oversized.pk])).content.decode()
    assert sizing(oversized).title in endpoint_page and "aws sagemaker update-endpoint" in endpoint_page


def test_dismissing_needs_a_reason_and_snoozing_a_future_date(client, alice, oversized):
    client.force_login(alice)
    rec = sizing(oversized)
    url = reverse("recommendation-action", args=[rec.pk])
    client.post(url, {"action": "dismiss", "reason": ""})
    client.post(url, {"action": "snooze", "until": timezone.now().date().isoformat()})
    rec.refresh_from_db()
    assert rec.status == Status.OPEN
    response = client.post(url, {"action": "dismiss", "reason": "needed for failover", "next": "https://evil.example"})
    assert response.status_code == 302 and response["Location"] == reverse("recommendations")
    rec.refresh_from_db()
    assert (rec.status, rec.dismissed_reason) == (Status.DISMISSED, "needed for failover")
    client.post(url, {"action": "reopen"})
    rec.refresh_from_db()
    assert rec.status == Status.OPEN


def test_another_team_cannot_see_or_touch_them(client, charlie, oversized):
    client.force_login(charlie)
    rec = sizing(oversized)
    assert client.post(reverse("recommendation-action", args=[rec.pk]), {"action": "reopen"}).status_code == 404
    assert rec.title not in client.get(reverse("recommendations")).content.decode()


def test_the_policy_is_per_team(teams, oversized):
    TeamPolicy.objects.filter(team=teams[0]).update(min_instances=2)
    engine.recompute(teams[0])
    assert sizing(oversized).proposed["instance_count"] == 2


def test_a_policy_with_an_unknown_region_is_refused(teams):
    from django.core.exceptions import ValidationError

    policy = TeamPolicy(team=teams[0], allowed_regions=["eu-north-1", "atlantis-1"])
    with pytest.raises(ValidationError, match="atlantis-1"):
        policy.full_clean()


def test_the_filters_carried_into_the_csv_link_are_url_encoded(client, alice, teams, oversized):
    factories.endpoint(oversized.account, "tagged", tags={"team": "r&d=x"})
    client.force_login(alice)
    response = client.get(reverse("recommendations"), {"team": "r&d=x"})
    assert response.context["query"] == "status=open&sort=co2e&group=kind&team=r%26d%3Dx"
