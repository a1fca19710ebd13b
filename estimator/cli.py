"""``python -m estimator``: estimate a usage CSV and write the rows with their estimates as CSV to stdout."""

import argparse
import sys
from numbers import Integral

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
        help="operator override of a region's grid factor (repeatable)",
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
    except (OSError, ValueError, pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        return fail(f"{arguments.input}: {error}")
    result.to_csv(sys.stdout, index=False)
    return 0


def read_usage(path: str) -> pd.DataFrame:
    return pd.read_csv(sys.stdin if path == "-" else path, dtype={"instance_type": str, "region": str})


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
