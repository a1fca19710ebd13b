"""/metrics is written by prometheus_client: HELP and TYPE on every family, label values escaped by the library."""

from prometheus_client.parser import text_string_to_metric_families

from dashboard.api.reports import GAUGES, TEAM_TOTALS
from tests.api.conftest import bearer
from tests.web import factories


def test_every_family_has_help_and_type_and_hostile_names_are_escaped(client, fleet, tokens, teams):
    account = factories.account(teams[0], "999988887777", "hostile")
    factories.endpoint(account, 'quote"back\\slash', instance_type="ml.c5.xlarge")
    factories.estimate()
    response = client.get("/metrics", **bearer(tokens["read"]))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/plain; version=0.0.4")
    text = response.content.decode()
    for name in [name for name, _ in GAUGES] + [name for name, _, _ in TEAM_TOTALS]:
        assert f"# HELP {name} " in text and f"# TYPE {name} gauge" in text
    assert 'endpoint="quote\\"back\\\\slash"' in text  # escaped, so the line still parses
    families = {family.name: family for family in text_string_to_metric_families(text)}
    watts = {s.labels["endpoint"]: s.value for s in families["wattson_endpoint_watts"].samples}
    assert set(watts) == {"eu-scorer", "idle-gpu", "ranker", 'quote"back\\slash'} and all(v > 0 for v in watts.values())
    assert families["wattson_data_hour_timestamp_seconds"].samples[0].value > 0
