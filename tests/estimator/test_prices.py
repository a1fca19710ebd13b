"""The shipped price table: every row cited and dated, lookups exact, unknowns give None/NaN."""

import math
import re

import numpy as np
import pandas as pd
import pytest

from estimator import prices
from estimator.prices import (
    PRICES_AS_OF,
    hourly_usd,
    instance_hour_usd,
    price_table,
    serverless_usd_per_gb_second,
    storage_usd_per_gb_month,
)

DATE = re.compile(r"^\d{4}-\d{2}(-\d{2})?$")


def test_every_row_has_a_source_a_date_and_a_positive_price():
    table = price_table()
    assert len(table) > 0
    assert (table["source"].str.strip() != "").all()
    assert table["source"].str.contains("https://").all()
    assert table["source_date"].map(lambda date: bool(DATE.match(date))).all()
    assert set(table["date_basis"]) <= {"stated", "retrieved"}
    assert table["source_year"].between(2000, 2030).all()
    assert (table["usd"] > 0).all()
    assert set(table["service"]) <= {"sagemaker-inference", "sagemaker-serverless", "cloudwatch-logs", "s3"}


def test_no_service_sku_region_is_listed_twice():
    assert not price_table().duplicated(["service", "sku", "region"]).any()


def test_units_follow_the_service():
    table = price_table()
    expected = table["service"].map(
        {
            "sagemaker-inference": "hour",
            "sagemaker-serverless": "gb-second",
            "cloudwatch-logs": "gb-month",
            "s3": "gb-month",
        }
    )
    assert (table["unit"] == expected).all()


def test_prices_as_of_is_the_latest_stated_source_date():
    table = price_table()
    assert max(table.loc[table["date_basis"] == "stated", "source_date"]) == PRICES_AS_OF
    assert DATE.match(PRICES_AS_OF)


def test_the_vectorised_lookup_agrees_with_the_scalar_one():
    table = price_table()
    instances = table[table["service"] == "sagemaker-inference"]
    types = pd.concat([instances["sku"], pd.Series(["ml.nope.xlarge", "M5.XLARGE", None])], ignore_index=True)
    regions = pd.concat([instances["region"], pd.Series(["us-east-1", "eu-west-1", "us-east-1"])], ignore_index=True)
    vectorised = hourly_usd(types, regions)
    scalar = [instance_hour_usd(t, r) for t, r in zip(types, regions, strict=True)]
    assert len(vectorised) == len(scalar)
    for got, want in zip(vectorised, scalar, strict=True):
        assert (math.isnan(got) and want is None) or got == want
    assert vectorised.iloc[: len(instances)].tolist() == instances["usd"].tolist()


def test_the_vectorised_lookup_keeps_the_index_and_takes_one_region_for_all():
    types = pd.Series(["ml.g5.xlarge", "ml.p3.2xlarge"], index=[10, 20])
    result = hourly_usd(types, "us-east-1")
    assert list(result.index) == [10, 20]
    assert result.tolist() == [
        instance_hour_usd("ml.g5.xlarge", "us-east-1"),
        instance_hour_usd("ml.p3.2xlarge", "us-east-1"),
    ]


def test_unknown_types_regions_and_classes_give_nan_or_none():
    assert instance_hour_usd("ml.nope.xlarge", "us-east-1") is None
    assert instance_hour_usd("ml.g5.xlarge", "mars-north-1") is None
    assert instance_hour_usd(None, "us-east-1") is None
    assert hourly_usd(pd.Series(["ml.nope.xlarge", np.nan]), pd.Series(["us-east-1", "us-east-1"])).isna().all()
    assert storage_usd_per_gb_month("s3", "NO_SUCH_CLASS", "us-east-1") is None
    assert storage_usd_per_gb_month("s3", "STANDARD", "mars-north-1") is None
    assert storage_usd_per_gb_month("efs", "STANDARD", "us-east-1") is None
    assert serverless_usd_per_gb_second("mars-north-1") is None


def test_the_ml_prefix_and_case_are_optional():
    assert instance_hour_usd("G5.XLARGE", " US-EAST-1 ") == instance_hour_usd("ml.g5.xlarge", "us-east-1")


def test_logs_have_one_stored_data_price_whatever_the_class():
    standard = storage_usd_per_gb_month("logs", "STANDARD", "us-east-1")
    assert standard is not None
    assert storage_usd_per_gb_month("logs", "INFREQUENT_ACCESS", "us-east-1") == standard
    assert storage_usd_per_gb_month("cloudwatch-logs", None, "us-east-1") == standard


@pytest.mark.parametrize(
    ("lookup", "expected"),
    [
        # aws-samples/sagemaker-ssh-helper Sample_Costs.md, December 2023 bill: "$7.91 per Hosting ml.g5.12xlarge hour
        # in Europe (Ireland)".
        (lambda: instance_hour_usd("ml.g5.12xlarge", "eu-west-1"), 7.91),
        # aws-samples/foundation-model-benchmarking-tool pricing.yml: "ml.g5.xlarge: 1.4084".
        (lambda: instance_hour_usd("ml.g5.xlarge", "us-east-1"), 1.4084),
        # usage.ai S3 table (US East, May 2026): Glacier Deep Archive $0.00099 per GB-month.
        (lambda: storage_usd_per_gb_month("s3", "DEEP_ARCHIVE", "us-east-1"), 0.00099),
    ],
)
def test_known_prices_are_returned_exactly(lookup, expected):
    assert lookup() == expected


def test_the_table_is_read_once():
    assert prices._prices() is prices._prices()
    copy = price_table()
    copy["usd"] = 0.0
    assert (price_table()["usd"] > 0).all()
