"""Waiting for a sandbox: however slow it seeds, only a dead or stalled sandbox is an error."""

import json
import subprocess
import sys

import pytest

from sandbox import fleet as fl
from sandbox.cli import SandboxNotReady, progress_file, wait_until_ready


def fake_sandbox(ready_file, steps: int, step_seconds: float, then_ready: bool = True) -> subprocess.Popen:
    """A process that notes ``steps`` seeding steps ``step_seconds`` apart in the progress file, then waits."""
    script = f"""
import json, pathlib, time
progress, ready = pathlib.Path({str(progress_file(ready_file))!r}), pathlib.Path({str(ready_file)!r})
for step in range({steps}):
    with progress.open("a") as log:
        log.write(f"step {{step}}\\n")
    time.sleep({step_seconds})
if {then_ready}:
    ready.write_text(json.dumps({{"url": "http://sandbox"}}))
time.sleep(60)
"""
    return subprocess.Popen([sys.executable, "-c", script])


@pytest.fixture
def ready_file(tmp_path):
    return tmp_path / "ready.json"


def stopped(process: subprocess.Popen) -> None:
    process.kill()
    process.wait()


def test_a_sandbox_that_keeps_making_progress_is_waited_for_beyond_the_stall_limit(ready_file):
    process = fake_sandbox(ready_file, steps=6, step_seconds=0.5)
    try:
        assert wait_until_ready(process, ready_file, stall_seconds=1.5) == {"url": "http://sandbox"}
    finally:
        stopped(process)


def test_a_sandbox_that_stops_making_progress_is_an_error_naming_its_last_step(ready_file):
    process = fake_sandbox(ready_file, steps=2, step_seconds=0.1, then_ready=False)
    try:
        with pytest.raises(SandboxNotReady, match="no progress for 2 s.*step 1"):
            wait_until_ready(process, ready_file, stall_seconds=2)
    finally:
        stopped(process)


def test_a_sandbox_that_exits_is_an_error_at_once(ready_file):
    process = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    with pytest.raises(SandboxNotReady, match="exited with code 3"):
        wait_until_ready(process, ready_file, stall_seconds=600)


def test_a_seeded_sandbox_leaves_its_steps_in_the_progress_file(sandbox, tmp_path_factory):
    ready_files = {f.resolve() for f in tmp_path_factory.getbasetemp().glob("*/ready.json")}  # and *current links
    [ready] = [f for f in ready_files if json.loads(f.read_text())["url"] == sandbox["url"]]
    steps = progress_file(ready).read_text()
    assert "listening on" in steps and "metrics:" in steps and f"Seeded {fl.DEFAULT_FLEET_SIZE} endpoints" in steps
