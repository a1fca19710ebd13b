"""The overview, endpoint list and endpoint pages: their numbers, filters, CSV downloads, scoping and escaping."""

import csv
import io
from datetime import timedelta

import pytest
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone

from dashboard.footprint.models import VariantHourEstimate
from tests.web import factories
from tests.web.html import number, table

HOSTILE = "<script>alert('tag')</script>"


@pytest.fixture
def fleet(teams):
    """Alice's team: three endpoints in two accounts and regions; Charlie's team: one of its own."""
    prod = factories.account(teams[0], "111122223333", "prod")
    lab = factories.account(teams[0], "444455556666", "lab")
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
            tags={"team": "growth", "env": "prod"},
        ),
        "eu": factories.endpoint(
            lab, "eu-scorer", region="eu-west-1", instance_type="ml.c5.xlarge", tags={"team": HOSTILE, "env": "dev"}
        ),
        "theirs": factories.endpoint(other, "secret-endpoint", instance_type="ml.g5.48xlarge"),
    }
    factories.estimate()
    return rows


def totals_of(*endpoints) -> dict:
    estimates = VariantHourEstimate.objects.filter(variant_hour__endpoint__in=endpoints)
    return estimates.aggregate(
        energy_kwh=Sum("energy_kwh"),
        co2e_kg=Sum("co2e_kg"),
        low=Sum("co2e_kg_low"),
        high=Sum("co2e_kg_high"),
        embodied=Sum("embodied_co2e_kg"),
    )


def test_the_overview_totals_are_the_sums_of_the_teams_hourly_estimates(client, alice, fleet):
    client.force_login(alice)
    response = client.get(reverse("home"))
    expected = totals_of(fleet["ranker"], fleet["idle"], fleet["eu"])
    summary = response.context["summary"]
    assert summary["energy_kwh"] == pytest.approx(expected["energy_kwh"])
    assert summary["co2e_kg"] == pytest.approx(expected["co2e_kg"])
    assert (summary["co2e_kg_low"], summary["co2e_kg_high"]) == pytest.approx((expected["low"], expected["high"]))
    assert summary["embodied_co2e_kg"] == pytest.approx(expected["embodied"])
    idle = totals_of(fleet["idle"])["energy_kwh"]
    assert summary["idle_energy_pct"] == pytest.approx(100 * idle / expected["energy_kwh"])
    inferences = 48 * 100 * 2  # ranker and eu-scorer serve 100 an hour for 48 hours; idle-gpu serves none
    total_kg = expected["co2e_kg"] + expected["embodied"]
    assert summary["gco2e_per_1k_invocations"] == pytest.approx(total_kg * 1e6 / inferences)
    page = response.content.decode()
    assert f"{summary['energy_kwh']:,.1f} kWh" in page and "secret-endpoint" not in page
    assert response.context["charts"][0]["data"], "the trend chart has traces"


def test_filters_in_the_url_narrow_the_numbers(client, alice, fleet):
    client.force_login(alice)
    eu = client.get(reverse("home"), {"region": "eu-west-1"}).context["summary"]
    assert eu["energy_kwh"] == pytest.approx(totals_of(fleet["eu"])["energy_kwh"])
    by_account = client.get(reverse("home"), {"account": "111122223333"}).context["summary"]
    assert by_account["energy_kwh"] == pytest.approx(totals_of(fleet["ranker"], fleet["idle"])["energy_kwh"])
    by_team = client.get(reverse("home"), {"team": "growth"}).context["summary"]
    assert by_team["energy_kwh"] == pytest.approx(totals_of(fleet["idle"])["energy_kwh"])
    by_tag = client.get(reverse("home"), {"tag": "env=dev"}).context["summary"]
    assert by_tag["energy_kwh"] == pytest.approx(totals_of(fleet["eu"])["energy_kwh"])
    response = client.get(reverse("home"), {"region": "eu-west-1", "group": "tag:env", "period": "7d"})
    assert (
        'href="?period=7d&amp;grain=day&amp;region=eu-west-1&amp;group=tag%3Aenv&amp;csv=breakdown"'
        in response.content.decode()
    )


def test_every_grain_sums_to_the_same_totals(client, alice, fleet):
    client.force_login(alice)
    expected = totals_of(fleet["ranker"], fleet["idle"], fleet["eu"])["co2e_kg"]
    for grain in ("hour", "day", "week", "month"):
        trend = client.get(reverse("home"), {"period": "7d", "grain": grain}).context["tables"][2]
        assert sum(row["co2e_kg"] for row in trend.rows) == pytest.approx(expected), grain
        first, last = factories.this_hour() - timedelta(hours=48), factories.this_hour() - timedelta(hours=1)
        periods = {"hour": 48, "day": (last.date() - first.date()).days + 1}  # from the first to the last with data
        assert len(trend.rows) == periods.get(grain, len(trend.rows)), grain


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"period": "fortnight"}, "period"),
        ({"region": "mars-north-1"}, "region"),
        ({"account": "12"}, "account"),
        ({"tag": "no-equals-sign"}, "tag"),
        ({"period": "365d", "grain": "hour"}, "grain"),
        ({"grain": "second"}, "grain"),
        ({"group": "'; drop table"}, "group"),
        ({"from": "2026-13-01", "to": "2026-01-01"}, "from"),
        ({"team": "nobody"}, "team"),
    ],
)
def test_bad_filter_values_are_named_and_the_page_still_answers(client, alice, fleet, params, named):
    client.force_login(alice)
    response = client.get(reverse("home"), params)
    assert response.status_code == 200
    assert named in response.context["errors"]
    assert f"<code>{named}</code>" in response.content.decode()
    assert response.context["summary"]["energy_kwh"] > 0  # the defaults were used instead


@pytest.mark.parametrize("table_id", ["breakdown", "top-emitters", "trend"])
def test_each_overview_csv_is_the_table_on_the_page(client, alice, fleet, table_id):
    client.force_login(alice)
    params = {"period": "7d", "group": "region"}
    shown = table(client.get(reverse("home"), params).content.decode(), table_id)
    download = client.get(reverse("home"), {**params, "csv": table_id})
    assert download["Content-Type"].startswith("text/csv")
    assert "attachment" in download["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(download.content.decode())))
    assert rows[0] == shown[0] and len(rows) == len(shown) > 1
    for csv_row, page_row in zip(rows[1:], shown[1:], strict=True):
        for csv_cell, page_cell in zip(csv_row, page_row, strict=True):
            if page_cell == "—":
                assert csv_cell == ""
            elif is_number(page_cell):
                assert float(csv_cell) == number(page_cell)
            else:
                assert csv_cell == page_cell


def is_number(text: str) -> bool:
    try:
        number(text)
    except ValueError:
        return False
    return True


def test_a_team_tag_nobody_carries_is_named_on_the_endpoint_list_too(client, alice, fleet):
    client.force_login(alice)
    response = client.get(reverse("endpoints"), {"team": "nobody"})
    assert response.status_code == 200
    assert "team" in response.context["errors"] and "nobody" in response.context["errors"]["team"]


def test_an_unknown_csv_table_is_a_404(client, alice, fleet):
    client.force_login(alice)
    assert client.get(reverse("home"), {"csv": "passwords"}).status_code == 404


def test_the_endpoint_list_shows_the_teams_endpoints_with_their_footprint(client, alice, fleet):
    client.force_login(alice)
    rows = table(client.get(reverse("endpoints")).content.decode(), "endpoints")
    header, body = rows[0], rows[1:]
    names = [row[0] for row in body]
    assert sorted(names) == ["eu-scorer", "idle-gpu", "ranker"]
    energy = {row[0]: number(row[header.index("Energy (kWh)")]) for row in body}
    assert energy["ranker"] == pytest.approx(totals_of(fleet["ranker"])["energy_kwh"], abs=0.005)
    assert number(body[names.index("ranker")][header.index("GPU (%)")]) == 40.0


def test_the_endpoint_page_draws_the_configuration_change_on_every_chart(client, alice, fleet):
    factories.change_type(fleet["ranker"], "AllTraffic", "ml.g5.xlarge", hours_ago=10)
    factories.estimate()
    client.force_login(alice)
    response = client.get(reverse("endpoint", args=[fleet["ranker"].pk]))
    label = "variant AllTraffic moved from ml.g5.2xlarge to ml.g5.xlarge (2 → 1 instances)"
    assert [change["text"] for change in response.context["changes"]] == [label]
    for figure in response.context["charts"]:
        assert [a["text"] for a in figure["layout"]["annotations"]] == [label], figure["id"]
        assert len(figure["layout"]["shapes"]) == 1
    history = table(response.content.decode(), "config-history")
    assert [row[3] for row in history[1:]] == ["ml.g5.2xlarge", "ml.g5.xlarge"]
    utilization = response.context["charts"][0]
    instances = next(trace for trace in utilization["data"] if trace["name"].endswith("instances"))
    assert instances["y"][-1] == 1 and max(instances["y"]) == 2


def test_the_endpoint_page_shows_where_its_numbers_come_from(client, alice, fleet):
    client.force_login(alice)
    response = client.get(reverse("endpoint", args=[fleet["ranker"].pk]), {"period": "30d", "grain": "day"})
    provenance = response.context["provenance"]
    assert sum(p["hours"] for p in provenance) == 48
    assert "gpu:Nvidia A10G" in provenance[0]["factors"]
    series = response.context["tables"][-1]
    assert sum(row["energy_kwh"] for row in series.rows) == pytest.approx(totals_of(fleet["ranker"])["energy_kwh"])


def test_another_teams_endpoint_is_a_404_and_never_counted(client, charlie, alice, fleet):
    client.force_login(charlie)
    for name in ("ranker", "idle", "eu"):
        assert client.get(reverse("endpoint", args=[fleet[name].pk])).status_code == 404
        assert client.get(reverse("endpoint", args=[fleet[name].pk]), {"csv": "series"}).status_code == 404
    page = client.get(reverse("endpoints")).content.decode()
    assert "secret-endpoint" in page and "ranker" not in page
    assert client.get(reverse("home")).context["summary"]["energy_kwh"] == pytest.approx(
        totals_of(fleet["theirs"])["energy_kwh"]
    )


def test_hostile_tag_values_are_shown_as_text(client, alice, fleet):
    client.force_login(alice)
    for response in (
        client.get(reverse("home"), {"group": "team"}),
        client.get(reverse("endpoints")),
        client.get(reverse("endpoint", args=[fleet["eu"].pk])),
    ):
        page = response.content.decode()
        assert HOSTILE not in page
        assert "&lt;script&gt;alert(" in page or "\\u003Cscript\\u003E" in page
    chart = client.get(reverse("home"), {"group": "team"}).context["charts"][1]
    assert "&lt;script&gt;alert('tag')&lt;/script&gt;" in chart["data"][0]["y"]  # Plotly shows entities as text


def test_empty_states_say_what_to_do(client, alice, teams):
    client.force_login(alice)
    assert "Connect an AWS account" in client.get(reverse("home")).content.decode()
    owner = factories.account(teams[0], "111122223333")
    factories.endpoint(owner, "old", hours=24)
    factories.estimate()
    old = {"period": "custom", "from": "2020-01-01", "to": "2020-01-31"}
    page = client.get(reverse("home"), old).content.decode()
    assert "Nothing in this view" in page and "clear the filters" in page
    endpoint = client.get(reverse("endpoints")).context["tables"][0].rows[0]["endpoint_id"]
    page = client.get(reverse("endpoint", args=[endpoint]), old).content.decode()
    assert "No estimated hours in this period" in page


def test_a_deleted_endpoint_keeps_its_history(client, alice, fleet):
    fleet["idle"].deleted_at = timezone.now() - timedelta(hours=2)
    fleet["idle"].save()
    client.force_login(alice)
    response = client.get(reverse("endpoint", args=[fleet["idle"].pk]))
    assert "Deleted (last seen" in response.content.decode() and response.context["charts"]
    listed = table(client.get(reverse("endpoints")).content.decode(), "endpoints")
    assert any(row[0] == "idle-gpu" and "Deleted" in row for row in listed)


def test_plotly_is_served_from_our_static_files(client, alice):
    from django.contrib.staticfiles import finders

    found = finders.find("vendor/plotly.min.js")
    with open(found, encoding="utf-8") as script:
        assert "plotly.js v" in script.read(200)
    client.force_login(alice)
    assert 'src="/static/vendor/plotly.min.js"' in client.get(reverse("home")).content.decode()
