"""/api/v1/focus/ conforms to FOCUS 1.2: every column the specification marks Mandatory is there, every other
column is one of the specification's or an ``x_`` extension, and values have the specification's types and nulls,
in JSON and in CSV. The specification's column list is tests/api/focus_1_2_columns.csv (its source is in its
header); the test never restates it."""

import csv
import datetime as dt
import io
import json
import re
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pytest

from tests.api.conftest import bearer

REFERENCE = Path(__file__).with_name("focus_1_2_columns.csv")
INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
EMISSIONS = {
    "x_EnergyKwh",
    "x_CO2eLocationKg",
    "x_CO2eMarketKg",
    "x_EmbodiedCO2eKg",
    "x_EstimateMethodology",
    "x_EstimateVersion",
}


def specification() -> dict[str, dict]:
    lines = [line for line in REFERENCE.read_text().splitlines() if not line.startswith("#")]
    return {row["column_id"]: row for row in csv.DictReader(lines)}


SPEC = specification()
MANDATORY = {name for name, column in SPEC.items() if column["feature_level"] == "Mandatory"}


def focus_json(client, token: str) -> dict:
    response = client.get("/api/v1/focus/", **bearer(token))
    assert response.status_code == 200, response.content
    return response.json()


def focus_csv(client, token: str) -> list[dict]:
    response = client.get("/api/v1/focus/", {"format": "csv"}, **bearer(token))
    assert response.status_code == 200
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def is_decimal(text: str) -> bool:
    try:
        Decimal(text)
    except InvalidOperation:
        return False
    return True


def json_type_ok(data_type: str, value) -> bool:
    return {
        "Decimal": lambda: isinstance(value, int | float) and not isinstance(value, bool),
        "Date/Time": lambda: isinstance(value, str) and bool(INSTANT.match(value)),
        "String": lambda: isinstance(value, str),
        "JSON": lambda: isinstance(value, dict),
    }[data_type]()


def csv_type_ok(data_type: str, text: str) -> bool:
    return {
        "Decimal": lambda: is_decimal(text),
        "Date/Time": lambda: bool(INSTANT.match(text)),
        "String": lambda: True,
        "JSON": lambda: isinstance(json.loads(text), dict),
    }[data_type]()


def test_the_reference_list_is_the_specifications_57_columns_with_21_mandatory():
    assert len(SPEC) == 57 and len(MANDATORY) == 21
    assert {"BilledCost", "EffectiveCost", "ListCost", "ContractedCost", "InvoiceIssuerName"} <= MANDATORY


def test_it_has_every_mandatory_column_and_only_focus_or_x_columns_in_json_and_csv(client, fleet, tokens):
    body = focus_json(client, tokens["read"])
    header = list(focus_csv(client, tokens["read"])[0])
    for columns in (body["columns"], list(body["results"][0]), header):
        assert set(columns) >= MANDATORY, MANDATORY - set(columns)
        assert not [name for name in columns if name not in SPEC and not name.startswith("x_")]
        assert set(columns) >= EMISSIONS
    assert not [name for name in body["columns"] if "Carbon" in name or name == "x_Methodology"]  # no old names


def test_json_values_have_the_specifications_types_and_nulls(client, fleet, tokens):
    rows = focus_json(client, tokens["read"])["results"]
    assert rows
    for row in rows:
        for name, value in row.items():
            column = SPEC.get(name)
            if column is None:
                continue
            if value is None:
                assert column["allows_nulls"] == "True", f"{name} is null, which FOCUS 1.2 forbids"
            else:
                assert json_type_ok(column["data_type"], value), f"{name}={value!r} is not {column['data_type']}"


def test_csv_values_have_the_specifications_types_and_nulls(client, fleet, tokens):
    rows = focus_csv(client, tokens["read"])
    assert rows
    for row in rows:
        for name, text in row.items():
            column = SPEC.get(name)
            if column is None:
                continue
            if text == "":
                assert column["allows_nulls"] == "True", f"{name} is empty, which FOCUS 1.2 forbids"
            else:
                assert csv_type_ok(column["data_type"], text), f"{name}={text!r} is not {column['data_type']}"


def test_costs_are_the_list_cost_labelled_as_such(client, fleet, tokens):
    rows = focus_json(client, tokens["read"])["results"]
    priced = [row for row in rows if row["ResourceName"] == "idle-gpu"]
    assert priced
    for row in priced:
        assert row["x_CostBasis"] == "list"
        assert row["ListCost"] == pytest.approx(3.825 * row["PricingQuantity"])
        assert row["BilledCost"] == row["EffectiveCost"] == row["ContractedCost"] == row["ListCost"]
        assert row["ListUnitPrice"] == pytest.approx(3.825)
        assert row["x_InstanceType"] == "ml.p3.2xlarge" and row["PricingUnit"] == row["ConsumedUnit"] == "Hours"
    for row in rows:
        if row["x_CostBasis"] == "unpriced":
            assert row["ListCost"] == row["BilledCost"] == 0 and row["ListUnitPrice"] is None


def test_periods_are_utc_days_inside_their_calendar_month(client, fleet, tokens):
    for row in focus_json(client, tokens["read"])["results"]:
        start = dt.datetime.fromisoformat(row["ChargePeriodStart"])
        assert dt.datetime.fromisoformat(row["ChargePeriodEnd"]) - start == dt.timedelta(days=1)
        assert row["BillingPeriodStart"] == f"{start:%Y-%m}-01T00:00:00Z"
        assert row["BillingPeriodStart"] <= row["ChargePeriodStart"] < row["BillingPeriodEnd"]


def test_another_teams_endpoints_are_not_exported(client, fleet, tokens):
    names = {row["ResourceName"] for row in focus_json(client, tokens["read"])["results"]}
    assert names == {"ranker", "idle-gpu", "eu-scorer"}


def test_formula_text_is_neutralised_in_the_focus_csv_and_kept_in_json(client, fleet, tokens):
    from tests.web import factories

    factories.endpoint(fleet["ranker"].account, "=HYPERLINK(1)", hours=6, tags={"team": "+1"})
    factories.estimate()
    names = {row["ResourceName"] for row in focus_csv(client, tokens["read"])}
    assert "'=HYPERLINK(1)" in names and not [name for name in names if name.startswith(("=", "+", "-", "@"))]
    assert "=HYPERLINK(1)" in {row["ResourceName"] for row in focus_json(client, tokens["read"])["results"]}


def test_the_csv_has_the_json_rows(client, fleet, tokens):
    rows = focus_json(client, tokens["read"])["results"]
    cells = focus_csv(client, tokens["read"])
    assert len(cells) == len(rows)
    for row, text in zip(rows, cells, strict=True):
        for name, value in row.items():
            if value is None:
                assert text[name] == ""
            elif isinstance(value, float):
                assert float(text[name]) == value
            elif isinstance(value, dict):
                assert json.loads(text[name]) == value
            else:
                assert text[name] == str(value), name


def test_sku_id_is_the_price_list_product_of_the_collected_price_in_effect(client, fleet, tokens):
    from collectors.models import Price

    rows = focus_json(client, tokens["read"])["results"]
    assert {row["SkuId"] for row in rows} == {None}  # the shipped table priced everything: no Price List SKU
    days = sorted({row["ChargePeriodStart"][:10] for row in rows if row["ResourceName"] == "idle-gpu"})
    change = dt.datetime.fromisoformat(days[-1]).replace(tzinfo=dt.UTC)  # a new price on the last day
    now = dt.datetime.now(dt.UTC)
    common = {"service": "sagemaker-inference", "sku": "ml.p3.2xlarge", "region": "us-east-1", "unit": "hour"}
    Price.objects.create(**common, usd=4.0, effective_date=change - dt.timedelta(days=400), source_sku="OLDSKU1",
                         collected_at=now)  # fmt: skip
    Price.objects.create(**common, usd=4.5, effective_date=change, source_sku="NEWSKU2", collected_at=now)
    rows = [row for row in focus_json(client, tokens["read"])["results"] if row["ResourceName"] == "idle-gpu"]
    by_day = {row["ChargePeriodStart"][:10]: row for row in rows}
    assert by_day[days[-1]]["SkuId"] == "NEWSKU2" and by_day[days[-1]]["ListUnitPrice"] == pytest.approx(4.5)
    assert {by_day[day]["SkuId"] for day in days[:-1]} == {"OLDSKU1"}
    assert [by_day[day]["ListUnitPrice"] for day in days[:-1]] == pytest.approx([4.0] * (len(days) - 1))
    assert all(row["x_PriceSource"] == "aws-price-list" for row in rows)
