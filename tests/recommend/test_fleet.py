"""The sandbox fleet, collected by the real collectors, gets the recommendations its behaviours call for."""

import pytest

from collectors import runner
from dashboard.footprint import estimates as footprint
from dashboard.recommend import engine
from dashboard.recommend.models import Recommendation
from tests.collectors.conftest import aws_env, prod, register, research  # noqa: F401 - fixtures
from tests.recommend.test_endpoint_rules import monthly_now

Kind = Recommendation.Kind
SIZING = {Kind.IDLE, Kind.OVERPROVISIONED, Kind.INTERMITTENT, Kind.GPU_UNUSED}


@pytest.fixture
def recommended(prod, research, teams):
    for account, regions in ((prod, ("us-east-1", "eu-west-1")), (research, ("us-east-1",))):
        for region in regions:
            runner.run(account, region, "inventory")
            runner.run(account, region, "utilization")
    footprint.estimate_pending()
    engine.recompute(teams[0])
    engine.recompute(teams[1])

    def kinds(name: str) -> dict:
        return {r.kind: r for r in Recommendation.objects.filter(endpoint__name=name)}

    return kinds


def test_each_seeded_behaviour_gets_its_recommendation(recommended):
    legacy = recommended("legacy-churn-model")  # no traffic for 9 days on a p3.2xlarge
    assert set(legacy) == {Kind.IDLE}
    expected = monthly_now(legacy[Kind.IDLE].endpoint, days=14)  # the rules' default lookback
    assert legacy[Kind.IDLE].monthly_co2e_kg_saved == pytest.approx(expected["co2e_kg"], rel=1e-6)
    assert legacy[Kind.IDLE].monthly_usd_saved == pytest.approx(expected["usd"], rel=1e-6)
    assert set(recommended("bert-experiment-3")) == {Kind.IDLE}
    tagger = recommended("image-tagger")  # 2 x g4dn.12xlarge with GPUs at a few percent
    assert {Kind.OVERPROVISIONED, Kind.GPU_UNUSED} <= set(tagger)
    assert tagger[Kind.OVERPROVISIONED].proposed["instance_type"].startswith("ml.g4dn.")
    assert tagger[Kind.OVERPROVISIONED].proposed["instance_type"] != "ml.g4dn.12xlarge"
    playground = recommended("llm-playground")  # a g5.12xlarge used in bursts
    assert playground[Kind.INTERMITTENT].proposed == {"mode": "async"}
    assert recommended("fraud-scoring")[Kind.SILICON].proposed["instance_type"] == "ml.c7g.2xlarge"


def test_busy_right_sized_and_already_lean_endpoints_get_no_sizing_advice(recommended):
    for name in (
        "recsys-ranker",
        "fraud-scoring",
        "search-embeddings",
        "clickstream-scorer",
        "sentiment-serverless",
        "doc-summarizer-async",
        "old-forecast",
    ):
        assert not SIZING & set(recommended(name)), name


def test_every_recommendation_is_complete(recommended):
    recs = Recommendation.objects.all()
    assert recs.count() > 10
    for rec in recs:
        assert rec.title and rec.proposal and rec.cli_command.startswith("aws ")
        assert rec.monthly_co2e_kg_saved_low <= rec.monthly_co2e_kg_saved <= rec.monthly_co2e_kg_saved_high
        assert rec.confidence in ("high", "medium", "low")
        if rec.endpoint_id and rec.kind != Kind.CONSOLIDATION:
            assert rec.evidence_hours > 0 and rec.evidence["hours"] == rec.evidence_hours
