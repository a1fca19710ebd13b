"""``python -m estimator``: estimate a usage CSV and write the rows with their estimates as CSV to stdout."""

import argparse
import csv
import io
import sys
from numbers import Integral
from pathlib import Path

import pandas as pd

from estimator.estimation import estimate
from estimator.factors import Factors
from estimator.methods import METHODOLOGIES
from estimator.validation import InputError

EXIT_BAD_INPUT = 2
HEADER_LINES = 1  # data row 0 is on line 2 of the file


def parser() -> argparse.ArgumentParser:
    cli = argparse.ArgumentParser(prog="python -m estimator", description=__doc__)
    cli.add_argument("input", metavar="INPUT.csv", help="usage rows; '-' reads standard input")
    cli.add_argument("--methodology", choices=sorted(METHODOLOGIES), default="default")
    cli.add_argument("--pue", type=float, help="operator override of the PUE")
    cli.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="REGION=KG_PER_KWH",
        help="operator override of a region's location-based grid factor (repeatable; '*' for unlisted regions); "
        "the market-based factor stays the published one where there is one",
    )
    return cli


def main(argv: list[str] | None = None) -> int:
    arguments = parser().parse_args(argv)
    try:
        factors = Factors(pue=arguments.pue, grid_kgco2e_per_kwh=grid_overrides(arguments.grid))
        frame = read_usage(arguments.input)
        result = estimate(frame, arguments.methodology, factors)
    except InputError as error:
        return fail(f"{arguments.input}: {where(error)}{error}")
    except (OSError, ValueError, csv.Error, pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        return fail(f"{arguments.input}: {error}")
    result.to_csv(sys.stdout, index=False)
    return 0


def read_usage(path: str) -> pd.DataFrame:
    """The CSV as a frame. A row with more fields than the header is an error naming its line: pandas would
    otherwise take the extra leading fields as an index and shift every value one column to the right."""
    text = sys.stdin.read() if path == "-" else Path(path).read_text()
    check_field_counts(text)
    return pd.read_csv(io.StringIO(text), dtype={"instance_type": str, "region": str}, index_col=False)


def check_field_counts(text: str) -> None:
    rows = csv.reader(io.StringIO(text))
    header = next(rows, None)
    if header is None:
        return
    for number, row in enumerate(rows, start=HEADER_LINES + 1):
        if len(row) > len(header):
            raise InputError(f"line {number} has {len(row)} fields, the header has {len(header)}")


def grid_overrides(pairs: list[str]) -> dict[str, float]:
    overrides = {}
    for pair in pairs:
        region, separator, value = pair.partition("=")
        if not separator:
            raise ValueError(f"--grid expects REGION=KG_PER_KWH, got {pair!r}")
        overrides[region.strip().lower()] = float(value)
    return overrides


def where(error: InputError) -> str:
    """``line N, column X: `` for a row of a freshly read CSV (its index is the data row number)."""
    parts = []
    if isinstance(error.row, Integral):
        parts.append(f"line {int(error.row) + 1 + HEADER_LINES}")
    if error.column:
        parts.append(f"column {error.column!r}")
    return ", ".join(parts) + ": " if parts else ""


def fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT
