"""``python -m estimator`` as a user runs it: a CSV in, a CSV out, and a clear exit 2 on bad input."""

import io
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from estimator import OUTPUT_COLUMNS

ROOT = Path(__file__).resolve().parents[2]
HEADER = "instance_type,region,hours,instance_count,cpu_util_pct,gpu_util_pct,memory_util_pct,invocations"
GOOD_ROWS = ["ml.m5.xlarge,us-east-1,1,2,35,,60,1200", "ml.g5.xlarge,eu-west-1,1,1,20,70,40,900"]


def run(tmp_path: Path, lines: list[str], *arguments: str) -> subprocess.CompletedProcess:
    path = tmp_path / "usage.csv"
    path.write_text("\n".join(lines) + "\n")
    return subprocess.run(
        [sys.executable, "-m", "estimator", *arguments, str(path)], cwd=ROOT, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize("methodology", ["ccf", "default"])
def test_it_writes_the_input_columns_and_the_estimates(tmp_path, methodology):
    done = run(tmp_path, [HEADER, *GOOD_ROWS], "--methodology", methodology)
    assert done.returncode == 0, done.stderr
    result = pd.read_csv(io.StringIO(done.stdout))
    assert list(result.columns) == HEADER.split(",") + list(OUTPUT_COLUMNS)
    assert list(result["instance_type"]) == ["ml.m5.xlarge", "ml.g5.xlarge"]
    assert (result["methodology"] == methodology).all()
    assert (result["energy_kwh"] > 0).all()


def test_operator_overrides_on_the_command_line(tmp_path):
    done = run(tmp_path, [HEADER, *GOOD_ROWS], "--pue", "1.2", "--grid", "us-east-1=0.5")
    result = pd.read_csv(io.StringIO(done.stdout))
    assert result["co2e_kg"][0] == pytest.approx(result["energy_kwh"][0] * 0.5)
    assert "pue:1.2@operator" in result["factors"][0]


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        ([HEADER, GOOD_ROWS[0], "ml.g5.xlarge,eu-west-1,two,1,20,70,40,900"], "line 3, column 'hours'"),
        ([HEADER.replace(",invocations", ""), "ml.m5.xlarge,us-east-1,1,2,35,,60"], "missing column 'invocations'"),
        ([HEADER, "ml.m5.xlarge,us-east-1,1,2,350,,60,1200"], "line 2, column 'cpu_util_pct'"),
        ([HEADER, "ml.m5.xlarge,us-east-1,1,,35,,60,1200"], "line 2, column 'instance_count'"),
        (['"unterminated,quote', "a,b"], "error:"),
        ([HEADER, "ml.m5.xlarge,us-east-1,1e999,2,35,,60,1200"], "line 2, column 'hours': hours is not a finite"),
        ([HEADER, "ml.m5.xlarge,us-east-1,inf,2,35,,60,1200"], "line 2, column 'hours': hours is not a finite"),
        ([HEADER, GOOD_ROWS[0], "x,ml.m5.xlarge,us-east-1,1,2,35,,60,1200"], "line 3 has 9 fields, the header has 8"),
        ([HEADER, "ml.m5.xlarge,us-east-1,1,2,True,,60,1200"], "line 2, column 'cpu_util_pct': cpu_util_pct is a bool"),
        ([HEADER, "ml.m5.xlarge,us-east-1,1,2,-1.5,,60,1200"], "cpu_util_pct is negative (value -1.5)"),
    ],
)
def test_a_malformed_file_is_named_and_exits_2_without_traceback(tmp_path, lines, expected):
    done = run(tmp_path, lines)
    assert done.returncode == 2
    assert expected in done.stderr
    assert "Traceback" not in done.stderr and "np.float64" not in done.stderr
    assert done.stdout == ""


def test_a_missing_file_exits_2(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "estimator", str(tmp_path / "absent.csv")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "absent.csv" in done.stderr and "Traceback" not in done.stderr
