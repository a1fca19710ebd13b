"""The embedded default (SQLite, what `make demo` runs on) gives the same numbers: the tests of the paths that
build their own SQL, run again in a subprocess with DATABASE_URL unset. Raw SQL hands back dates as text on SQLite,
which once broke the overview of the demo (a 500) while every PostgreSQL test passed."""

import os
import subprocess
import sys

from tests.conftest import ROOT

# The paths that build their own SQL or that SQLite broke once: pricing, rolling windows (a UNION of rollups and
# hours), collected coverage and idle periods.
ON_SQLITE = (
    "tests/footprint/test_storage_serverless_prices.py",
    "tests/footprint/test_rolling_windows.py",
    "tests/notify/test_truthful_periods.py",
)


def test_the_sql_building_tests_pass_on_the_embedded_sqlite_default():
    env = {**os.environ, "DATABASE_URL": ""}  # unset: dashboard/settings.py falls back to SQLite
    result = subprocess.run(  # noqa: S603 - our own test runner on our own test files
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *ON_SQLITE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and " skipped" not in result.stdout
