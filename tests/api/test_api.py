"""/api/v1/: tokens and scoping, errors that name the parameter, CSV equal to JSON, stable cursor pages, the FOCUS
export agreeing with the emissions series, Prometheus metrics, and the checked-in schema."""

import csv
import io
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from django.core.management import call_command
from django.utils import timezone

from collectors.models import VariantHour
from dashboard.recommend.models import Recommendation
from dashboard.teams.models import ApiToken
from tests.api.conftest import bearer

ROOT = Path(__file__).resolve().parents[2]
LISTS = [
    "/api/v1/accounts/",
    "/api/v1/endpoints/",
    "/api/v1/variants/",
    "/api/v1/usage/",
    "/api/v1/log-groups/",
    "/api/v1/storage/",
    "/api/v1/recommendations/",
    "/api/v1/emissions/",
    "/api/v1/focus/",
    "/api/v1/methodology/",
    "/metrics",
]


def rows_of(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


@pytest.mark.parametrize("url", LISTS)
def test_every_resource_needs_a_valid_token(client, fleet, tokens, url):
    assert client.get(url).status_code == 401
    assert client.get(url, **bearer("wtsn_not-a-token")).status_code == 401
    assert client.get(url, **bearer(tokens["revoked"])).status_code == 401
    assert client.get(url, **bearer(tokens["read"])).status_code == 200


def test_tokens_are_stored_hashed(tokens):
    for token in ApiToken.objects.all():
        assert all(plain not in (token.digest, token.prefix) for plain in tokens.values())
        assert len(token.digest) == 64


def test_another_teams_objects_are_404_and_never_listed(client, fleet, tokens):
    theirs = fleet["theirs"]
    assert client.get(f"/api/v1/endpoints/{theirs.pk}/", **bearer(tokens["read"])).status_code == 404
    names = [e["name"] for e in client.get("/api/v1/endpoints/", **bearer(tokens["read"])).json()["results"]]
    assert sorted(names) == ["eu-scorer", "idle-gpu", "ranker"]
    mine = Recommendation.objects.filter(team__name="ML Platform").first()
    assert client.get(f"/api/v1/recommendations/{mine.pk}/", **bearer(tokens["outsider"])).status_code == 404
    usage = client.get("/api/v1/usage/", {"endpoint": theirs.pk}, **bearer(tokens["read"])).json()
    assert usage["results"] == []


def test_endpoints_carry_their_variants_and_a_30_day_summary(client, fleet, tokens):
    from django.db.models import Sum

    from dashboard.footprint.models import VariantHourEstimate

    body = client.get(f"/api/v1/endpoints/{fleet['ranker'].pk}/", **bearer(tokens["read"])).json()
    assert body["variants"][0]["instance_type"] == "ml.g5.2xlarge" and body["variants"][0]["instance_count"] == 2
    expected = VariantHourEstimate.objects.filter(variant_hour__endpoint=fleet["ranker"]).aggregate(e=Sum("energy_kwh"))
    assert body["summary_30d"]["energy_kwh"] == pytest.approx(expected["e"])


@pytest.mark.parametrize(
    ("url", "params", "named"),
    [
        ("/api/v1/usage/", {"grain": "minute"}, "grain"),
        ("/api/v1/usage/", {"start": "yesterday"}, "start"),
        ("/api/v1/usage/", {"account_id": "42"}, "account_id"),
        ("/api/v1/emissions/", {"group_by": "horoscope"}, "group_by"),
        ("/api/v1/emissions/", {"grain": "hour", "start": "2026-01-01", "end": "2026-03-01"}, "grain"),
        ("/api/v1/emissions/", {"start": "2026-05-02", "end": "2026-05-01"}, "start"),
        ("/api/v1/recommendations/", {"kind": "magic"}, "kind"),
        ("/api/v1/log-groups/", {"since": "someday"}, "since"),
        ("/api/v1/usage/", {"cursor": "not-a-cursor"}, "cursor"),
        ("/api/v1/usage/", {"page_size": "-3"}, "page_size"),
    ],
)
def test_bad_parameters_are_400s_that_name_the_parameter(client, fleet, tokens, url, params, named):
    response = client.get(url, params, **bearer(tokens["read"]))
    assert response.status_code == 400
    assert named in response.json()


@pytest.mark.parametrize(
    ("url", "params", "named"),
    [
        ("/api/v1/log-groups/", {"since": ""}, "since"),
        ("/api/v1/usage/", {"start": ""}, "start"),
        ("/api/v1/emissions/", {"grain": ""}, "grain"),
        ("/api/v1/endpoints/", {"region": ""}, "region"),
        ("/api/v1/recommendations/", {"kind": ""}, "kind"),
        ("/api/v1/accounts/", {"format": ""}, "format"),
        ("/api/v1/endpoints/", {"deleted": "maybe"}, "deleted"),
        ("/api/v1/variants/", {"endpoint": "1.5"}, "endpoint"),
        ("/api/v1/endpoints/", {"account_id": "1111222233334"}, "account_id"),
        ("/api/v1/usage/", {"account_id": "111122223333\n"}, "account_id"),
        ("/api/v1/recommendations/", {"account_id": " 111122223333"}, "account_id"),
        ("/api/v1/log-groups/", {"since": "11/20/2026"}, "since"),
        ("/api/v1/emissions/", {"end": "2026-W47-5"}, "end"),
        ("/api/v1/usage/", {"end": "20261120T100000"}, "end"),
        ("/api/v1/storage/", {"page_size": "0"}, "page_size"),
        ("/api/v1/storage/", {"page_size": "1001"}, "page_size"),
        ("/api/v1/variants/", {"page_size": "0", "format": "csv"}, "page_size"),
        ("/api/v1/variants/", {"cursor": "not a cursor", "format": "csv"}, "cursor"),
    ],
)
def test_empty_or_out_of_bounds_parameters_are_400s_in_json_whatever_the_format(
    client, fleet, tokens, url, params, named
):
    response = client.get(url, params, **bearer(tokens["read"]))
    assert response.status_code == 400 and response["Content-Type"] == "application/json"
    assert list(response.json()) == [named] and isinstance(response.json()[named], list)


@pytest.mark.parametrize(
    ("url", "position"),
    [
        ("/api/v1/usage/", "1"),
        ("/api/v1/usage/", "2026-13-45T00:00:00Z"),
        ("/api/v1/log-groups/", "2026-13-45"),
        ("/api/v1/endpoints/", "abc"),
    ],
)
def test_a_forged_cursor_is_a_400_not_a_crash(client, fleet, tokens, url, position):
    import base64

    cursor = base64.b64encode(f"p={position}".encode()).decode()
    response = client.get(url, {"cursor": cursor}, **bearer(tokens["read"]))
    assert response.status_code == 400 and "cursor" in response.json()


def test_an_unknown_format_is_a_400_an_unmet_accept_a_406_and_an_id_that_is_not_one_a_json_404(client, fleet, tokens):
    for url in ("/api/v1/accounts/", "/api/v1/emissions/", "/api/v1/methodology/"):
        response = client.get(url, {"format": "AAA"}, **bearer(tokens["read"]))
        assert response.status_code == 400 and list(response.json()) == ["format"], url
    assert client.get("/api/v1/accounts/", HTTP_ACCEPT="text/html", **bearer(tokens["read"])).status_code == 406
    for id_ in ("1.5", "abc", "-3"):
        response = client.get(f"/api/v1/endpoints/{id_}/", **bearer(tokens["read"]))
        assert response.status_code == 404 and response["Content-Type"] == "application/json", id_


def test_usage_takes_a_date_or_a_date_and_time_with_or_without_an_offset(client, fleet, tokens):
    for start in ("2026-11-20", "2026-11-20T10:00:00Z", "2026-11-20T10:00+01:00", "2026-11-20 10:00:00.5"):
        assert (
            client.get("/api/v1/usage/", {"start": start, "end": "2026-11-21"}, **bearer(tokens["read"])).status_code
            == 200
        ), start


def test_page_size_is_honoured_from_1_to_1000(client, fleet, tokens):
    one = client.get("/api/v1/usage/", {"page_size": 1}, **bearer(tokens["read"])).json()
    assert len(one["results"]) == 1 and one["next"]
    most = client.get("/api/v1/usage/", {"page_size": 1000}, **bearer(tokens["read"])).json()
    assert len(most["results"]) > 100 and most["next"] is None  # every row of the week, past the default 100


def test_usage_rows_have_their_grains_documented_shape(client, fleet, tokens):
    schemas = yaml.safe_load((ROOT / "docs" / "openapi.yaml").read_text())["components"]["schemas"]
    for grain, component in (("hour", "UsageHour"), ("day", "UsageDay")):
        row = client.get("/api/v1/usage/", {"grain": grain}, **bearer(tokens["read"])).json()["results"][0]
        assert set(row) == set(schemas[component]["properties"]), grain


# CSV equal to JSON, nested values included: tests/api/test_csv_json.py


def test_cursor_pages_stay_stable_while_new_hours_arrive(client, fleet, tokens):
    params = {
        "grain": "hour",
        "page_size": 20,
        "endpoint": fleet["ranker"].pk,
        "start": (timezone.now() - timedelta(days=3)).isoformat(),
    }
    first = client.get("/api/v1/usage/", params, **bearer(tokens["read"])).json()
    ids = [row["id"] for row in first["results"]]
    endpoint = fleet["ranker"]
    earliest = VariantHour.objects.filter(endpoint=endpoint).order_by("hour").first()
    VariantHour.objects.create(
        endpoint=endpoint,
        variant_name="B",
        hour=earliest.hour,
        instance_type="ml.g5.xlarge",
        instance_hours=1,
        collected_at=timezone.now(),
    )  # lands on the page already read
    ids_after, link = [], first["next"]
    while link:
        page = client.get(link.replace("http://testserver", ""), **bearer(tokens["read"])).json()
        ids_after += [row["id"] for row in page["results"]]
        link = page["next"]
    assert not set(ids) & set(ids_after)
    assert len(ids) + len(ids_after) == VariantHour.objects.filter(endpoint=endpoint).count() - 1


def test_the_focus_export_agrees_with_the_emissions_series(client, fleet, tokens):
    focus = client.get("/api/v1/focus/", **bearer(tokens["read"])).json()
    emissions = client.get("/api/v1/emissions/", {"grain": "day"}, **bearer(tokens["read"])).json()["results"]
    assert {
        "BillingAccountId",
        "RegionId",
        "ResourceId",
        "ResourceType",
        "ServiceName",
        "ChargePeriodStart",
        "ChargePeriodEnd",
        "x_EnergyKwh",
        "x_CO2eLocationKg",
        "x_EmbodiedCO2eKg",
    } <= set(focus["columns"])
    for day in emissions:
        rows = [r for r in focus["results"] if r["ChargePeriodStart"].startswith(day["period_start"])]
        assert sum(r["x_EnergyKwh"] for r in rows) == pytest.approx(day["energy_kwh"])
        assert sum(r["x_CO2eLocationKg"] for r in rows) == pytest.approx(day["co2e_kg"])
        assert sum(r["x_EmbodiedCO2eKg"] for r in rows) == pytest.approx(day["embodied_co2e_kg"])
    priced = [r for r in focus["results"] if r["ResourceName"] == "idle-gpu"]
    assert priced and all(r["ListCost"] == pytest.approx(3.825 * r["ConsumedQuantity"]) for r in priced)


def test_emissions_group_by_team_tag_and_every_grain_keep_the_totals(client, fleet, tokens):
    def total(params):
        rows = client.get("/api/v1/emissions/", params, **bearer(tokens["read"])).json()["results"]
        return sum(r["co2e_kg"] for r in rows), {r["group"] for r in rows}

    everything, groups = total({"group_by": "none"})
    assert groups == {"all"}
    nine_days = str(timezone.now().date() - timedelta(days=9))
    for params in (
        {"group_by": "team"},
        {"group_by": "tag:env"},
        {"group_by": "region", "grain": "month"},
        {"group_by": "endpoint", "grain": "week"},
        {"group_by": "account", "grain": "hour", "start": nine_days},
    ):
        assert total(params)[0] == pytest.approx(everything), params
    assert total({"group_by": "team"})[1] == {"recsys", "growth", "<script>x</script>"}


def test_recommendations_are_patched_only_with_a_writable_token(client, fleet, tokens):
    rec = Recommendation.objects.filter(team__name="ML Platform", status="open").first()
    url = f"/api/v1/recommendations/{rec.pk}/"
    body = {"status": "dismissed", "dismissed_reason": "kept for failover"}
    assert client.patch(url, body, content_type="application/json", **bearer(tokens["read"])).status_code == 403
    response = client.patch(url, {"status": "dismissed"}, content_type="application/json", **bearer(tokens["write"]))
    assert response.status_code == 400 and "dismissed_reason" in response.json()
    response = client.patch(url, body, content_type="application/json", **bearer(tokens["write"]))
    assert response.status_code == 200 and response.json()["status"] == "dismissed"
    snooze = {"status": "snoozed", "snoozed_until": str(timezone.now().date() + timedelta(days=7))}
    assert (
        client.patch(url, snooze, content_type="application/json", **bearer(tokens["write"])).json()["snoozed_until"]
        == snooze["snoozed_until"]
    )
    not_text = {"status": "dismissed", "dismissed_reason": 0}
    response = client.patch(url, not_text, content_type="application/json", **bearer(tokens["write"]))
    assert response.status_code == 400 and "dismissed_reason" in response.json()
    form = client.patch(url, "status=open", content_type="application/x-www-form-urlencoded", **bearer(tokens["write"]))
    assert form.status_code == 415
    title = {"title": "hacked"}
    client.patch(url, title, content_type="application/json", **bearer(tokens["write"]))
    rec.refresh_from_db()
    assert rec.title != "hacked" and rec.status == "snoozed"


def test_prometheus_metrics_show_each_live_endpoint(client, fleet, tokens):
    text = client.get("/metrics", **bearer(tokens["read"])).content.decode()
    assert "# TYPE wattson_endpoint_watts gauge" in text
    lines = [line for line in text.splitlines() if line.startswith("wattson_endpoint_watts{")]
    assert sorted(line.split('endpoint="')[1].split('"')[0] for line in lines) == ["eu-scorer", "idle-gpu", "ranker"]
    assert all(float(line.rsplit(" ", 1)[1]) > 0 for line in lines)
    assert 'endpoint="<script>x</script>"' not in text and "secret-endpoint" not in text


def test_the_checked_in_schema_matches_the_code(tmp_path):
    generated = tmp_path / "openapi.yaml"
    call_command("spectacular", "--file", str(generated), "--validate", "--fail-on-warn")
    checked_in = yaml.safe_load((ROOT / "docs" / "openapi.yaml").read_text())
    assert yaml.safe_load(generated.read_text()) == checked_in, (
        "docs/openapi.yaml is out of date: run `python manage.py spectacular --file docs/openapi.yaml`"
    )


def test_a_csv_streamed_in_many_chunks_has_every_row_once(client, fleet, tokens, monkeypatch):
    from dashboard.api import views

    monkeypatch.setattr(views, "CSV_CHUNK", 7)  # many keyset chunks, with chunk edges inside one hour
    rows = rows_of(client.get("/api/v1/usage/", {"grain": "hour", "format": "csv"}, **bearer(tokens["read"])))
    ids = [int(row["id"]) for row in rows]
    expected = VariantHour.objects.filter(
        endpoint__account__team__name="ML Platform", hour__gte=timezone.now() - timedelta(days=7)
    )
    assert len(ids) == len(set(ids)) == expected.count() > 7 * 10
    assert [(row["hour"], int(row["id"])) for row in rows] == sorted((row["hour"], int(row["id"])) for row in rows)


def test_the_methodology_names_the_version_in_use_and_every_grid_factor_with_its_source(client, fleet, tokens):
    from estimator.tables import table

    body = client.get("/api/v1/methodology/", **bearer(tokens["read"])).json()
    assert body["in_use"]["methodology"] == "default"
    factors = {row["region"]: row for row in body["grid_factors"]}
    grid, pue = table("grid_factors_v2", "region"), table("pue_by_region", "region")  # what 2.0.0 cites
    assert set(factors) == set(grid.index) and all(row["source"] and row["source_year"] for row in factors.values())
    north = factors["eu-north-1"]
    assert north["kgco2e_per_kwh"] == pytest.approx(float(grid.at["eu-north-1", "location_kgco2e_per_kwh"]))
    assert north["market_kgco2e_per_kwh"] == 0 and not north["market_fallback"]  # AWS: 100 % matched
    assert north["pue"] == pytest.approx(float(pue.at["eu-north-1", "pue"])) and not north["pue_fallback"]
    singapore = factors["ap-southeast-1"]  # no market figure published: the location factor, flagged
    assert singapore["market_fallback"] and singapore["market_kgco2e_per_kwh"] == singapore["kgco2e_per_kwh"]
    assert factors["eu-west-2"]["pue_fallback"] and factors["eu-west-2"]["pue"] == pytest.approx(1.15)


def test_endpoints_of_one_name_and_region_in_two_accounts_are_two_rows_with_their_ids(client, fleet, teams, tokens):
    from estimator import prices
    from tests.web import factories

    staging = factories.account(teams[0], "222233334444", "staging")
    twin = factories.endpoint(staging, "ranker", instance_type="ml.m5.large", hours=48)  # prod has a "ranker" too
    factories.estimate()
    rows = client.get(
        "/api/v1/emissions/", {"group_by": "endpoint", "grain": "month"}, **bearer(tokens["read"])
    ).json()["results"]
    rankers = [row for row in rows if row["group"] == "ranker (us-east-1)"]
    assert {(row["endpoint_id"], row["account_id"]) for row in rankers} == {
        (fleet["ranker"].pk, "111122223333"),
        (twin.pk, "222233334444"),
    }
    for endpoint in (fleet["ranker"], twin):  # each row sums its own endpoint only, cost included
        hours = VariantHour.objects.filter(endpoint=endpoint)
        mine = [row for row in rankers if row["endpoint_id"] == endpoint.pk]
        assert sum(row["energy_kwh"] for row in mine) == pytest.approx(sum(h.estimate.energy_kwh for h in hours))
        assert sum(row["instance_hours"] for row in mine) == pytest.approx(sum(h.instance_hours for h in hours))
        price = prices.instance_hour_usd(hours[0].instance_type, "us-east-1")  # the shipped table: none collected
        cost = sum(row["cost_usd"] or 0 for row in mine)
        assert cost == pytest.approx(price * sum(h.instance_hours for h in hours)) if price else cost == 0
    grouped = client.get("/api/v1/emissions/", {"group_by": "region"}, **bearer(tokens["read"])).json()["results"]
    assert all(row["endpoint_id"] is None and row["account_id"] is None for row in grouped)
