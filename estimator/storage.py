"""Storage: CloudWatch Logs and S3 bytes by storage class -> kWh and CO2e (media coefficient x replication)."""

from functools import cache

import numpy as np
import pandas as pd

from estimator.factors import ANY_REGION, MARKET_FALLBACK, PUE_FALLBACK, Factors, grid_factors, method_has_market
from estimator.lookup import region_codes
from estimator.methods import methodology_named
from estimator.tables import constant, constant_source, read_table
from estimator.validation import InputError, numeric_frame, require

STORAGE_INPUT_COLUMNS = ("service", "storage_class", "stored_bytes", "hours", "region")
STORAGE_OUTPUT_COLUMNS = (
    "storage_kwh",
    "co2e_kg",
    "co2e_market_kg",
    "co2e_kg_low",
    "co2e_kg_high",
    "methodology",
    "methodology_version",
    "factors",
    "fallbacks",
)
BYTES_PER_TB = 1e12  # disk capacities, and so the coefficients per TB, are decimal
ANY_CLASS = "*"
UNKNOWN_SERVICE = {
    "media": "hdd",
    "replication_factor": 1.0,
    "source_id": "fallback",
    "note": "unknown storage service: HDD, no replication",
}


def estimate_storage(frame: pd.DataFrame, methodology: str = "default", factors: Factors | None = None) -> pd.DataFrame:
    """The input rows with storage energy (kWh), CO2e (kg), its range and provenance added.

    Input columns: ``service`` (``"logs"`` for CloudWatch Logs or ``"s3"``), ``storage_class`` (e.g. ``STANDARD``,
    ``GLACIER``), ``stored_bytes``, ``hours`` and ``region``. Output columns: ``STORAGE_OUTPUT_COLUMNS``.
    """
    method = methodology_named(methodology)
    factors = factors or Factors()
    numbers = check_storage(frame)
    classes = storage_classes_of(frame)
    grid = grid_factors(method, factors)
    grid = grid.iloc[region_codes(frame["region"], grid)]
    result: dict[str, np.ndarray | str] = dict(storage_emissions(storage_it_kwh(numbers, classes), grid))
    result["methodology"], result["methodology_version"] = method.name, method.version
    result["factors"], result["fallbacks"] = storage_provenance(classes, grid)
    return pd.concat([frame, pd.DataFrame(result, index=frame.index)], axis=1)


def check_storage(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    missing = [column for column in STORAGE_INPUT_COLUMNS if column not in frame]
    if missing:
        raise InputError(
            f"missing column {missing[0]!r} (needed: {', '.join(STORAGE_INPUT_COLUMNS)})", column=missing[0]
        )
    numbers = numeric_frame(frame, ("stored_bytes", "hours"))
    for column, values in numbers.items():
        require(frame, values, np.isnan(values), column, "is missing")
        require(frame, values, values < 0, column, "is negative")
    return numbers


@cache
def storage_class_table() -> pd.DataFrame:
    classes = read_table("storage_classes").set_index(["service", "storage_class"])
    return classes.assign(note="")


def storage_classes_of(frame: pd.DataFrame) -> pd.DataFrame:
    """Media, replication factor and source of each row: exact class, else the service's ``*`` class."""
    shipped = storage_class_table()
    services = frame["service"].astype(str).str.strip().str.lower()
    exact = shipped.index.get_indexer(
        pd.MultiIndex.from_arrays([services, frame["storage_class"].astype(str).str.strip().str.upper()])
    )
    service_default = shipped.index.get_indexer(pd.MultiIndex.from_arrays([services, [ANY_CLASS] * len(frame)]))
    table_rows = pd.concat([shipped.reset_index(), pd.DataFrame([UNKNOWN_SERVICE])], ignore_index=True)
    chosen = np.where(exact >= 0, exact, np.where(service_default >= 0, service_default, len(shipped)))
    rows = table_rows.iloc[chosen].reset_index(drop=True)
    rows["service"] = rows["service"].fillna(pd.Series(services.to_numpy()))
    rows["storage_class"] = rows["storage_class"].fillna(frame["storage_class"].astype(str).reset_index(drop=True))
    rows.loc[(exact < 0) & (service_default >= 0), "note"] = "unknown storage class: service default"
    return rows


def storage_it_kwh(numbers: dict[str, np.ndarray], classes: pd.DataFrame) -> np.ndarray:
    """TB-hours x the media's Wh per TB-hour x replication, in kWh before PUE."""
    media_watt_hours = {media: constant(f"{media}_watt_hours_per_tb_hour") for media in ("ssd", "hdd")}
    tb_hours = numbers["stored_bytes"] / BYTES_PER_TB * numbers["hours"]
    replication = classes["replication_factor"].to_numpy()
    it_kwh: np.ndarray = tb_hours * classes["media"].map(media_watt_hours).to_numpy() * replication / 1000
    return it_kwh


def storage_emissions(it_kwh: np.ndarray, grid: pd.DataFrame) -> dict[str, np.ndarray]:
    """Per row (``grid`` holds each row's region): facility kWh, location- and market-based CO2e, the range."""
    grid_kg = grid["kgco2e_per_kwh"].to_numpy()
    spread = grid["uncertainty"].to_numpy()
    power_spread = constant("power_uncertainty_assumed")  # storage coefficients are 2016 projections
    storage_kwh = it_kwh * grid["pue"].to_numpy()
    return {
        "storage_kwh": storage_kwh,
        "co2e_kg": storage_kwh * grid_kg,
        "co2e_market_kg": storage_kwh * grid["market_kgco2e_per_kwh"].to_numpy(),
        "co2e_kg_low": it_kwh * (1 - power_spread) * grid["pue_low"].to_numpy() * grid_kg * (1 - spread),
        "co2e_kg_high": it_kwh * (1 + power_spread) * grid["pue_high"].to_numpy() * grid_kg * (1 + spread),
    }


def storage_provenance(classes: pd.DataFrame, grid: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    media_source = {media: constant_source(f"{media}_watt_hours_per_tb_hour") for media in ("ssd", "hdd")}
    factors = (
        "storage:"
        + classes["service"]
        + "/"
        + classes["storage_class"]
        + "@"
        + classes["source_id"]
        + ";"
        + classes["media"]
        + ":"
        + classes["media"].map(media_source)
        + ";pue:"
        + grid["pue"].map("{:g}".format).to_numpy()
        + "@"
        + grid["pue_source_id"].to_numpy()
        + ";grid:"
        + grid.index.to_series().to_numpy()
        + "@"
        + grid["source_id"].to_numpy()
    )
    if method_has_market(grid):
        factors = (
            factors
            + (
                ";market:"
                + grid["market_kgco2e_per_kwh"].map("{:g}".format).to_numpy()
                + "@"
                + grid["market_source_id"]
            ).to_numpy()
        )
    region_notes = np.where(grid.index == ANY_REGION, "unknown region: mean factor", "")
    pue_notes = np.where(grid["pue_fallback"].to_numpy(dtype=bool), PUE_FALLBACK, "")
    market_notes = np.where(grid["market_fallback"].to_numpy(dtype=bool), MARKET_FALLBACK, "")
    notes = zip(classes["note"], region_notes, pue_notes, market_notes, strict=True)
    fallbacks = ["; ".join(note for note in group if note) for group in notes]
    return factors.to_numpy(), np.array(fallbacks, dtype=object)
