"""Private PostgreSQL and Redis servers that a test may restart without touching the shared ones.

PostgreSQL: a throw-away cluster (initdb into a temporary folder, run as the ``postgres`` user when the tests run
as root, which initdb refuses), listening on a free loopback port with trust authentication. Redis: a
``redis-server`` without persistence, as the compose deployment runs it, so a restart loses what it held.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tests.conftest import require_or_skip


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port: int, up: bool, what: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            sock.settimeout(1)
            if (sock.connect_ex(("127.0.0.1", port)) == 0) == up:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{what} on port {port} did not {'start' if up else 'stop'} within {seconds} s")


def postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(found[-1]).parent if found else None


class PrivatePostgres:
    def __init__(self, folder: Path, bin_dir: Path):
        self.folder, self.bin_dir, self.port = folder, bin_dir, free_port()
        self.data, self.log = folder / "data", folder / "postgres.log"

    def _run(self, *args: str) -> None:
        command = [str(self.bin_dir / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def init(self) -> PrivatePostgres:
        self.folder.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            self.folder.parent.chmod(0o755)
            shutil.chown(self.folder, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "--no-sync")
        return self

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.folder} -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "120", "start")
        wait_port(self.port, True, "PostgreSQL")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "120", "stop")

    def restart(self) -> None:
        """A fast shutdown (every open connection is terminated) and a start on the same port."""
        self.stop()
        self.start()

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> None:
        subprocess.run(
            [str(self.bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name],
            check=True,
            capture_output=True,
            timeout=60,
        )


class PrivateRedis:
    def __init__(self, folder: Path):
        self.folder, self.port, self.process = folder, free_port(), None

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.folder),
            ],
            stdout=(self.folder / "redis.log").open("a"),
            stderr=subprocess.STDOUT,
        )
        wait_port(self.port, True, "Redis")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()  # no shutdown save: what it held is gone, as after a crash
            self.process.wait(timeout=30)
            wait_port(self.port, False, "Redis")

    def restart(self) -> None:
        self.stop()
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


@pytest.fixture
def private_postgres():
    bin_dir = postgres_bin()
    require_or_skip(bin_dir is not None, "PostgreSQL server binaries (/usr/lib/postgresql/*/bin)")
    # Not under pytest's own temporary folder: that one is private to root, and the server runs as postgres.
    folder = Path(tempfile.mkdtemp(prefix="wattson-pg-"))
    server = PrivatePostgres(folder / "cluster", bin_dir).init()
    server.start()
    yield server
    with contextlib.suppress(subprocess.CalledProcessError):
        server.stop()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def private_redis(tmp_path_factory):
    require_or_skip(shutil.which("redis-server") is not None, "redis-server")
    server = PrivateRedis(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()
