"""A team with a small fleet, and tokens for it (read-only, read-write, revoked) and for an outsider."""

import pytest

from dashboard.recommend import engine
from dashboard.teams.models import ApiToken
from tests.web import factories


@pytest.fixture
def fleet(teams):
    prod = factories.account(teams[0], "111122223333", "prod")
    other = factories.account(teams[1], "777788889999", "outsiders")
    rows = {
        "ranker": factories.endpoint(
            prod,
            "ranker",
            instance_type="ml.g5.2xlarge",
            count=2,
            gpu_util_pct=40,
            tags={"team": "recsys", "env": "prod"},
        ),
        "idle": factories.endpoint(
            prod,
            "idle-gpu",
            instance_type="ml.p3.2xlarge",
            invocations=0,
            gpu_util_pct=0.5,
            hours=8 * 24,
            tags={"team": "growth"},
        ),
        "eu": factories.endpoint(
            prod, "eu-scorer", region="eu-west-1", instance_type="ml.c5.xlarge", tags={"team": "<script>x</script>"}
        ),
        "theirs": factories.endpoint(other, "secret-endpoint", instance_type="ml.g5.48xlarge"),
    }
    factories.estimate()
    engine.recompute(teams[0])
    engine.recompute(teams[1])
    return rows


@pytest.fixture
def tokens(alice, charlie, teams):
    read, read_plain = ApiToken.issue(alice, teams[0], "finops")
    write, write_plain = ApiToken.issue(alice, teams[0], "automation", ApiToken.Access.WRITE)
    revoked, revoked_plain = ApiToken.issue(alice, teams[0], "old")
    revoked.revoke()
    _, outsider_plain = ApiToken.issue(charlie, teams[1], "outsider")
    return {"read": read_plain, "write": write_plain, "revoked": revoked_plain, "outsider": outsider_plain}


def bearer(token: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}
