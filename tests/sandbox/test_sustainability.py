"""The sandbox's Sustainability API over HTTP, through the real boto3 client: response shapes, pagination, the
rule that a month counts only when the range holds its first day, filters, and a revision."""

from datetime import UTC, date, datetime

import pytest
from botocore.exceptions import ClientError

from sandbox import fleet as fl
from sandbox import sustainability as sus
from sandbox.clients import client
from tests.web.factories import last_complete_months

ALL_TYPES = list(sus.EMISSIONS_TYPES)


@pytest.fixture
def carbon(sandbox, sandbox_control):
    sandbox_control("DELETE", "aws_carbon")
    yield client("sustainability", sandbox["url"], "us-east-1", fl.PROD)
    sandbox_control("DELETE", "aws_carbon")


@pytest.fixture
def anchor(sandbox_control) -> datetime:
    return datetime.fromisoformat(sandbox_control("GET", "aws_carbon")["anchor"])


def at(day: date, hour: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def test_shape_and_values_parse_with_boto3(carbon, anchor):
    month = last_complete_months(1)[0]
    response = carbon.get_estimated_carbon_emissions(
        TimePeriod={"Start": at(month), "End": at(month.replace(day=2))},
        GroupBy=["USAGE_ACCOUNT_ID", "REGION", "SERVICE"],
        EmissionsTypes=ALL_TYPES,
        Granularity="MONTHLY",
    )
    results = response["Results"]
    assert "NextToken" not in response
    assert {(r["DimensionsValues"]["REGION"], r["DimensionsValues"]["SERVICE"]) for r in results} == {
        (region, service) for region in fl.REGIONS for service in ("AmazonSageMaker", *sus.DECOY_KWH)
    }
    for r in results:
        assert r["TimePeriod"]["Start"].astimezone(UTC) == at(month)
        assert r["DimensionsValues"]["USAGE_ACCOUNT_ID"] == fl.PROD
        assert r["ModelVersion"] == sus.BASE_MODEL_VERSION
        assert set(r["EmissionsValues"]) == set(ALL_TYPES)
        assert {v["Unit"] for v in r["EmissionsValues"].values()} == {"MTCO2e"}
        values = {t: v["Value"] for t, v in r["EmissionsValues"].items()}
        # totals are the scopes' sum, within AWS's rounding of each value to 0.001 t
        assert values["TOTAL_LBM_CARBON_EMISSIONS"] == pytest.approx(
            values["TOTAL_SCOPE_1_CARBON_EMISSIONS"]
            + values["TOTAL_SCOPE_2_LBM_CARBON_EMISSIONS"]
            + values["TOTAL_SCOPE_3_LBM_CARBON_EMISSIONS"],
            abs=0.0021,
        )
    by_service = {
        (r["DimensionsValues"]["REGION"], r["DimensionsValues"]["SERVICE"]): r["EmissionsValues"] for r in results
    }
    assert by_service[("us-east-1", "AWSCloudTrail")]["TOTAL_LBM_CARBON_EMISSIONS"]["Value"] == 0.0  # below precision
    sagemaker = by_service[("us-east-1", "AmazonSageMaker")]["TOTAL_LBM_CARBON_EMISSIONS"]["Value"]
    # the fleet's prod hosting in us-east-1 runs tens of kW: several tons a month once it exists
    expected_kg = next(
        f["kg"]["TOTAL_LBM_CARBON_EMISSIONS"]
        for f in sus.figures(datetime.now(UTC), anchor, [])
        if (f["USAGE_ACCOUNT_ID"], f["REGION"], f["SERVICE"], f["month"])
        == (fl.PROD, "us-east-1", "AmazonSageMaker", month)
    )
    assert sagemaker == round(expected_kg / 1000, 3)
    assert sagemaker > 1.0


def test_pagination_returns_every_row_once(carbon):
    months = last_complete_months(12)
    request = {
        "TimePeriod": {"Start": at(months[0]), "End": at(months[-1], 1)},
        "GroupBy": ["REGION", "SERVICE"],
        "MaxResults": 7,
    }
    pages, token, rows = 0, None, []
    while True:
        page = carbon.get_estimated_carbon_emissions(**request, **({"NextToken": token} if token else {}))
        pages += 1
        assert len(page["Results"]) <= 7
        rows += page["Results"]
        token = page.get("NextToken")
        if not token:
            break
    expected = 12 * len(fl.REGIONS) * (1 + len(sus.DECOY_KWH))
    assert len(rows) == expected
    assert pages == -(-expected // 7)
    keys = [(r["TimePeriod"]["Start"], r["DimensionsValues"]["REGION"], r["DimensionsValues"]["SERVICE"]) for r in rows]
    assert len(set(keys)) == expected
    assert set(rows[0]["EmissionsValues"]) == {"TOTAL_LBM_CARBON_EMISSIONS", "TOTAL_MBM_CARBON_EMISSIONS"}  # default


def test_a_month_counts_only_when_the_range_holds_its_first_day(carbon):
    previous, last = last_complete_months(2)
    response = carbon.get_estimated_carbon_emissions(
        TimePeriod={"Start": at(previous, 1), "End": at(last, 1)}, GroupBy=["SERVICE"]
    )
    assert {r["TimePeriod"]["Start"].astimezone(UTC) for r in response["Results"]} == {at(last)}
    response = carbon.get_estimated_carbon_emissions(TimePeriod={"Start": at(previous, 1), "End": at(last)})
    assert response["Results"] == []
    now = datetime.now(UTC)
    current = date(now.year, now.month, 1)
    response = carbon.get_estimated_carbon_emissions(TimePeriod={"Start": at(current), "End": now})
    assert response["Results"] == []  # the current month is not published yet


def test_filter_and_grouping_add_up(carbon):
    month = last_complete_months(1)[0]
    period = {"Start": at(month), "End": at(month, 1)}
    per_service = carbon.get_estimated_carbon_emissions(
        TimePeriod=period, GroupBy=["SERVICE"], FilterBy={"Dimensions": {"REGION": ["us-east-1", "eu-west-1"]}}
    )["Results"]
    assert {r["DimensionsValues"]["SERVICE"] for r in per_service} == {"AmazonSageMaker", *sus.DECOY_KWH}
    only = carbon.get_estimated_carbon_emissions(
        TimePeriod=period,
        GroupBy=["REGION", "SERVICE"],
        FilterBy={"Dimensions": {"SERVICE": ["AmazonSageMaker"], "REGION": ["us-east-1", "eu-west-1"]}},
    )["Results"]
    assert {r["DimensionsValues"]["SERVICE"] for r in only} == {"AmazonSageMaker"}
    assert {r["DimensionsValues"]["REGION"] for r in only} == {"us-east-1", "eu-west-1"}
    summed = sum(r["EmissionsValues"]["TOTAL_LBM_CARBON_EMISSIONS"]["Value"] for r in only)
    grouped = next(r for r in per_service if r["DimensionsValues"]["SERVICE"] == "AmazonSageMaker")
    assert grouped["EmissionsValues"]["TOTAL_LBM_CARBON_EMISSIONS"]["Value"] == pytest.approx(summed, abs=0.002)


def test_other_accounts_see_only_their_own_usage(sandbox, carbon):
    month = last_complete_months(1)[0]
    period = {"Start": at(month), "End": at(month, 1)}
    research = client("sustainability", sandbox["url"], "us-east-1", fl.RESEARCH)
    rows = research.get_estimated_carbon_emissions(TimePeriod=period, GroupBy=["USAGE_ACCOUNT_ID"])["Results"]
    assert [r["DimensionsValues"] for r in rows] == [{"USAGE_ACCOUNT_ID": fl.RESEARCH}]
    empty = client("sustainability", sandbox["url"], "us-east-1", "999988887777")
    assert empty.get_estimated_carbon_emissions(TimePeriod=period)["Results"] == []


def test_a_revision_replaces_the_months_version(carbon, sandbox_control):
    previous, last = last_complete_months(2)
    period = {"Start": at(previous), "End": at(last, 1)}

    def versions():
        rows = carbon.get_estimated_carbon_emissions(TimePeriod=period, GroupBy=["SERVICE"], EmissionsTypes=ALL_TYPES)[
            "Results"
        ]
        return {(r["TimePeriod"]["Start"].astimezone(UTC).date(), r["DimensionsValues"]["SERVICE"]): r for r in rows}

    before = versions()
    sandbox_control(
        "POST", "aws_carbon", {"revise": {"month": f"{last:%Y-%m}", "model_version": "v3.1.0", "scope3_factor": 1.5}}
    )
    after = versions()
    assert len(after) == len(before)  # one version per month, the latest
    assert {r["ModelVersion"] for (m, _), r in after.items() if m == last} == {"v3.1.0"}
    assert {r["ModelVersion"] for (m, _), r in after.items() if m == previous} == {sus.BASE_MODEL_VERSION}
    key = (last, "AmazonSageMaker")
    old = before[key]["EmissionsValues"]["TOTAL_SCOPE_3_LBM_CARBON_EMISSIONS"]["Value"]
    assert after[key]["EmissionsValues"]["TOTAL_SCOPE_3_LBM_CARBON_EMISSIONS"]["Value"] == pytest.approx(
        old * 1.5, abs=0.002
    )
    assert after[(previous, "AmazonSageMaker")] == before[(previous, "AmazonSageMaker")]


def test_invalid_requests_are_validation_errors(carbon):
    month = last_complete_months(1)[0]
    with pytest.raises(ClientError) as denied:
        carbon.get_estimated_carbon_emissions(
            TimePeriod={"Start": at(month), "End": at(month, 1)}, Granularity="QUARTERLY_CALENDAR"
        )
    assert denied.value.response["Error"]["Code"] == "ValidationException"
    assert "MONTHLY" in denied.value.response["Error"]["Message"]
