"""Totals count at most one alternative per variant; near-zero storage items are 'minor'."""

import pytest

from dashboard.recommend.models import Recommendation
from dashboard.recommend.totals import (
    MINOR_CO2E_KG,
    MINOR_USD,
    is_minor,
    savings_total,
    split_minor,
    team_savings_total,
)
from tests.recommend.makers import Kind, Status, rec
from tests.web import factories


@pytest.fixture
def acct(teams):
    return factories.account(teams[0], "111122223333", "prod")


@pytest.fixture
def big(acct):
    return factories.endpoint(acct, "big", hours=2)


def test_two_alternatives_for_one_variant_count_once(teams, acct, big):
    rec(teams[0], acct, Kind.OVERPROVISIONED, 10.0, 100.0, endpoint=big)
    rec(teams[0], acct, Kind.SILICON, 4.0, 30.0, endpoint=big)
    rec(teams[0], acct, Kind.LOG_RETENTION, 1.0, 2.0)
    totals = team_savings_total(teams[0])
    old_sum = sum(r.monthly_co2e_kg_saved for r in Recommendation.objects.filter(team=teams[0]))
    assert old_sum == 15.0 and totals.co2e_kg == 11.0  # the largest alternative and the log group
    assert (totals.usd, totals.counted, totals.shown, totals.left_out) == (102.0, 2, 3, 1)


def test_each_variant_counts_its_own_alternative(teams, acct, big):
    other = factories.endpoint(acct, "other", hours=2)
    rec(teams[0], acct, Kind.OVERPROVISIONED, 10.0, 100.0, endpoint=big)
    rec(teams[0], acct, Kind.SILICON, 3.0, 20.0, endpoint=other)
    rec(teams[0], acct, Kind.REGION, 5.0, None, endpoint=other)
    totals = team_savings_total(teams[0])
    assert (totals.co2e_kg, totals.usd, totals.unpriced) == (15.0, 100.0, 1)


def test_the_alternative_applied_counts_rather_than_the_largest(teams, acct, big):
    rec(teams[0], acct, Kind.OVERPROVISIONED, 10.0, 100.0, endpoint=big, status=Status.DISMISSED)
    rec(teams[0], acct, Kind.SILICON, 4.0, 30.0, endpoint=big, status=Status.RESOLVED)
    totals = team_savings_total(teams[0], status="")
    assert (totals.co2e_kg, totals.usd, totals.counted) == (4.0, 30.0, 1)


def test_a_consolidation_counts_instead_of_its_members_only_when_it_saves_more(teams, acct, big):
    small = factories.endpoint(acct, "small", hours=2)
    rec(teams[0], acct, Kind.OVERPROVISIONED, 3.0, 30.0, endpoint=big)
    rec(teams[0], acct, Kind.IDLE, 2.0, 20.0, endpoint=small)
    merge = rec(teams[0], acct, Kind.CONSOLIDATION, 8.0, 50.0, proposed={"deleted_endpoints": ["big", "small"]})
    assert team_savings_total(teams[0]).co2e_kg == 8.0
    Recommendation.objects.filter(pk=merge.pk).update(monthly_co2e_kg_saved=4.0)
    assert team_savings_total(teams[0]).co2e_kg == 5.0


def test_near_zero_storage_items_are_minor_and_nothing_else_is(teams, acct, big):
    tiny = rec(teams[0], acct, Kind.LOG_RETENTION, MINOR_CO2E_KG / 2, MINOR_USD / 2)
    unpriced = rec(teams[0], acct, Kind.CAPTURE_LIFECYCLE, 0.0, None)
    cheap_but_costly = rec(teams[0], acct, Kind.LOG_RETENTION, 0.001, MINOR_USD)  # shows as $1 (rounded)
    tiny_endpoint = rec(teams[0], acct, Kind.SILICON, 0.001, 0.001, endpoint=big)
    assert is_minor(tiny) and is_minor(unpriced)
    assert not is_minor(cheap_but_costly) and not is_minor(tiny_endpoint)
    major, minor = split_minor([tiny, cheap_but_costly, unpriced, tiny_endpoint])
    assert major == [cheap_but_costly, tiny_endpoint] and minor == [tiny, unpriced]
    assert savings_total(minor).co2e_kg == pytest.approx(MINOR_CO2E_KG / 2)
