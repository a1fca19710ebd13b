#!/usr/bin/env python3
"""`make compose-test`: run the production compose stack for real, against the simulated AWS, and break it.

1. Tools: Debian's docker.io, debootstrap and docker-compose (installed if missing); starts dockerd if no engine
   answers (and stops it at the end).
2. Stand-in base images (Docker Hub is unreachable here), each built only when its tag is missing:
   debian:bookworm-slim (debootstrap --variant=minbase + docker import), python:3.11-slim (Debian's Python 3.11),
   wattson-standin/postgres:15 and wattson-standin/redis:7 (Debian's packages). See compose/README.md.
3. The product image (Dockerfile target `app`) and the simulated AWS image (target `sandbox`).
4. `compose -f docker-compose.yml -f compose/docker-compose.test.yml --profile sandbox up -d`, then waits for every
   healthcheck (production settings: DJANGO_ENV=production, HTTPS redirect, ALLOWED_HOSTS).
5. A user and the teams (manage.py demo_setup, in the sandbox container: production does not offer it), the
   sandbox's two accounts, an HTTP login, an API token.
6. A reference collection, uninterrupted, into a second database (manage.py collect in the web container).
7. The same collection through Celery (collect_all on the worker), during which the PostgreSQL container is
   restarted and the worker container is killed (SIGKILL) and started again; then every (account, region, source)
   must have succeeded, and the collected hours must equal the reference: same row count, same checksum.
8. A page (the endpoint list) and the API (/api/v1/endpoints/) show the collected endpoints.
9. `down -v`. Exit status 0 only if every check passed; the first failure says what went wrong.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
from contextlib import suppress
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HERE = ROOT / "compose"
PROJECT = os.environ.get("COMPOSE_TEST_PROJECT", "wattson-compose-test")
APP_IMAGE, SANDBOX_IMAGE = "wattson:latest", "wattson-sandbox:latest"
BASE_IMAGE = "debian:bookworm-slim"
# tag -> Dockerfile under compose/standins (the base is made with debootstrap instead)
STANDINS = {
    "python:3.11-slim": "python.Dockerfile",
    "wattson-standin/postgres:15": "postgres.Dockerfile",
    "wattson-standin/redis:7": "redis.Dockerfile",
}
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
DB_USER, DB_NAME, REFERENCE_DB = "wattson", "wattson", "wattson_reference"
USERNAME = "compose-test"
SERVICES_WITH_HEALTHCHECKS = ("postgres", "redis", "sandbox", "web", "worker")
T0 = time.monotonic()


CHECKS: list[str] = []


def ok(message: str) -> None:
    """A check passed."""
    CHECKS.append(message)
    log(f"ok: {message}")


class Failed(Exception):
    """A check failed: the message says which and what was seen."""


def log(message: str) -> None:
    print(f"[compose-test {time.monotonic() - T0:7.1f}s] {message}", flush=True)


def run(
    cmd: list[str],
    *,
    check: bool = True,
    capture: bool = False,
    input: str | None = None,
    env: dict | None = None,
    timeout: float | None = None,
    quiet: bool = False,
) -> subprocess.CompletedProcess:
    if not quiet:
        log("$ " + " ".join(cmd))
    result = subprocess.run(
        cmd,
        text=True,
        input=input,
        env=env,
        timeout=timeout,
        stdout=subprocess.PIPE if capture else None,
        stderr=subprocess.PIPE if capture else None,
    )
    if check and result.returncode != 0:
        detail = f"\n{result.stdout or ''}{result.stderr or ''}" if capture else ""
        raise Failed(f"command failed with exit code {result.returncode}: {' '.join(cmd)}{detail[-4000:]}")
    return result


# --- 1. tools and the engine -------------------------------------------------------------------------------------


def ensure_tools() -> None:
    wanted = {"dockerd": "docker.io", "debootstrap": "debootstrap", "docker-compose": "docker-compose"}
    missing = [package for tool, package in wanted.items() if not shutil.which(tool)]
    if not shutil.which("docker"):
        missing.append("docker.io")
    if missing:
        log(f"installing {', '.join(sorted(set(missing)))} from Debian")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        run(["apt-get", "update", "-q"], env=env, capture=True)
        run(["apt-get", "install", "-y", "-q", "--no-install-recommends", *sorted(set(missing))], env=env, capture=True)


def engine_up() -> bool:
    return run(["docker", "info"], check=False, capture=True, quiet=True).returncode == 0


def start_engine(workdir: Path) -> subprocess.Popen | None:
    if engine_up():
        log("a Docker engine is already running; using it")
        return None
    log("starting dockerd (log: %s)" % (workdir / "dockerd.log"))
    handle = open(workdir / "dockerd.log", "w")  # noqa: SIM115 - lives as long as the daemon
    daemon = subprocess.Popen(["dockerd"], stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)
    for _ in range(120):
        if engine_up():
            return daemon
        if daemon.poll() is not None:
            raise Failed(
                f"dockerd exited with code {daemon.returncode}; see {workdir / 'dockerd.log'}:\n"
                + (workdir / "dockerd.log").read_text()[-3000:]
            )
        time.sleep(0.5)
    raise Failed("dockerd did not answer within 60 s")


def stop_engine(daemon: subprocess.Popen | None) -> None:
    if daemon is None or daemon.poll() is not None:
        return
    log(f"stopping the dockerd this test started (pid {daemon.pid})")
    daemon.terminate()
    try:
        daemon.wait(timeout=60)
    except subprocess.TimeoutExpired:
        daemon.kill()


def compose_command() -> list[str]:
    if run(["docker", "compose", "version"], check=False, capture=True, quiet=True).returncode == 0:
        return ["docker", "compose"]
    return ["docker-compose"]


# --- 2. stand-in base images -------------------------------------------------------------------------------------


def image_exists(tag: str) -> bool:
    return run(["docker", "image", "inspect", tag], check=False, capture=True, quiet=True).returncode == 0


def debian_mirrors() -> tuple[str, str]:
    """The Debian and Debian-security mirrors apt uses on this host (so the image is built from the same)."""
    text = ""
    for path in [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]:
        if path.is_file() and path.suffix in ("", ".list", ".sources"):
            text += path.read_text(errors="replace") + "\n"
    uris = re.findall(r"^\s*URIs:\s*(\S+)", text, re.M) + re.findall(r"^\s*deb\s+(?:\[[^]]*\]\s+)?(\S+)", text, re.M)
    main = next((u for u in uris if u.rstrip("/").endswith("/debian")), "http://deb.debian.org/debian")
    security = next(
        (u for u in uris if u.rstrip("/").endswith("/debian-security")), "http://deb.debian.org/debian-security"
    )
    return main.rstrip("/"), security.rstrip("/")


def build_base_image(workdir: Path) -> None:
    mirror, security = debian_mirrors()
    rootfs = workdir / "rootfs"
    log(f"building {BASE_IMAGE} (stand-in): debootstrap --variant=minbase bookworm from {mirror}")
    run(
        ["debootstrap", "--variant=minbase", "--include=ca-certificates", "bookworm", str(rootfs), mirror], capture=True
    )
    (rootfs / "etc/apt/sources.list").write_text(
        f"deb {mirror} bookworm main\ndeb {mirror} bookworm-updates main\ndeb {security} bookworm-security main\n"
    )
    (rootfs / "etc/apt/apt.conf.d/90-image").write_text(
        'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n'
    )
    # The host's CA bundle (Debian's standard bundle plus what this host trusts), so containers reach the package
    # registries as the host does; local additions are kept in case an image re-runs update-ca-certificates.
    local_cas = Path("/usr/local/share/ca-certificates")
    if local_cas.is_dir():
        shutil.copytree(local_cas, rootfs / "usr/local/share/ca-certificates", dirs_exist_ok=True)
    shutil.copyfile(HOST_CA_BUNDLE, rootfs / "etc/ssl/certs/ca-certificates.crt")
    for junk in ("var/cache/apt/archives", "var/lib/apt/lists"):
        for item in (rootfs / junk).glob("*"):
            if item.is_file():
                item.unlink()
    tar = subprocess.Popen(["tar", "--numeric-owner", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
    imported = subprocess.run(
        [
            "docker",
            "import",
            "--change",
            "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            # pip brings its own CA list (certifi) unless told to use the system's, which holds the host's CAs
            "--change",
            "ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt",
            "--change",
            'LABEL org.wattson.stand-in="debian:bookworm-slim from debootstrap --variant=minbase"',
            "--change",
            'CMD ["bash"]',
            "-",
            BASE_IMAGE,
        ],
        stdin=tar.stdout,
        text=True,
        capture_output=True,
    )
    tar.wait()
    if tar.returncode or imported.returncode:
        raise Failed(f"docker import of the debootstrap root failed: {imported.stderr}")
    shutil.rmtree(rootfs, ignore_errors=True)


def build_standins(workdir: Path) -> None:
    if image_exists(BASE_IMAGE):
        log(f"{BASE_IMAGE}: present, not rebuilt")
    else:
        build_base_image(workdir)
    for tag, dockerfile in STANDINS.items():
        if image_exists(tag):
            log(f"{tag}: present, not rebuilt")
            continue
        log(f"building stand-in {tag} from {dockerfile}")
        run(
            ["docker", "build", "-q", "-t", tag, "-f", str(HERE / "standins" / dockerfile), str(HERE / "standins")],
            capture=True,
        )


# --- 3. the product images ---------------------------------------------------------------------------------------


def build_context(workdir: Path) -> Path:
    """The working tree's files that git would see (tracked or not ignored): no .venv, var/ or .git upload."""
    files = run(
        ["git", "-C", str(ROOT), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        capture=True,
        quiet=True,
    ).stdout.split("\0")
    context = workdir / "context"
    shutil.rmtree(context, ignore_errors=True)
    for name in filter(None, files):
        source = ROOT / name
        if source.is_file():
            target = context / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return context


def pip_build_args() -> list[str]:
    """Hand the host's package index to the build if it is not PyPI itself (a file:// index cannot be)."""
    index = (
        os.environ.get("PIP_INDEX_URL")
        or run(
            [sys.executable, "-m", "pip", "config", "get", "global.index-url"], check=False, capture=True, quiet=True
        ).stdout.strip()
    )
    return ["--build-arg", f"PIP_INDEX_URL={index}"] if index.startswith(("http://", "https://")) else []


def build_product(workdir: Path) -> None:
    context = build_context(workdir)
    for target, tag in (("app", APP_IMAGE), ("sandbox", SANDBOX_IMAGE)):
        started = time.monotonic()
        run(["docker", "build", "-q", "--target", target, "-t", tag, *pip_build_args(), str(context)], capture=True)
        log(f"built {tag} (target {target}) in {time.monotonic() - started:.0f} s")


def check_product_image() -> None:
    """The product image has no simulated AWS, and still passes Django's checks in production mode."""
    probe = run(
        [
            "docker",
            "run",
            "--rm",
            APP_IMAGE,
            "python",
            "-c",
            "import importlib.util as u; print(bool(u.find_spec('moto')))",
        ],
        capture=True,
        quiet=True,
    )
    if probe.stdout.strip() != "False":
        raise Failed(f"moto is installed in the product image {APP_IMAGE}")
    checked = run(
        [
            "docker",
            "run",
            "--rm",
            "-e",
            f"SECRET_KEY={secrets.token_urlsafe(48)}",
            "-e",
            "ALLOWED_HOSTS=localhost",
            APP_IMAGE,
            "python",
            "manage.py",
            "check",
            "--deploy",
            "--fail-level",
            "WARNING",
        ],
        check=False,
        capture=True,
        quiet=True,
    )
    if checked.returncode != 0:
        raise Failed(
            f"`manage.py check --deploy` fails in the product image without moto:\n{checked.stdout}{checked.stderr}"[
                -3000:
            ]
        )
    ok("product image: no moto in it; `manage.py check --deploy` passes in production mode")


# --- 4. the stack ------------------------------------------------------------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def timeout_scale() -> float:
    """Waits are written for a 4-core machine; fewer cores wait proportionally longer (COMPOSE_TEST_SLOWDOWN too)."""
    return max(1.0, 4 / (os.cpu_count() or 1)) * float(os.environ.get("COMPOSE_TEST_SLOWDOWN", "1"))


class Stack:
    def __init__(self, compose: list[str], workdir: Path):
        self.web_port, self.sandbox_port = free_port(), free_port()
        self.db_password = secrets.token_urlsafe(18)
        self.password = "pw" + secrets.token_urlsafe(18)
        self.env = {
            **os.environ,
            "SECRET_KEY": secrets.token_urlsafe(64),
            "POSTGRES_PASSWORD": self.db_password,
            # published on loopback only, on ports that are free now (8000 and 5055 may be taken)
            "WEB_PORT": f"127.0.0.1:{self.web_port}",
            "SANDBOX_PORT": f"127.0.0.1:{self.sandbox_port}",
        }
        self.compose = [
            *compose,
            "-p",
            PROJECT,
            "-f",
            str(ROOT / "docker-compose.yml"),
            "-f",
            str(HERE / "docker-compose.test.yml"),
            "--profile",
            "sandbox",
        ]
        self.workdir = workdir
        self.started = False
        self.containers: dict[str, str] = {}

    def __call__(self, *args: str, quiet: bool = False, **kwargs) -> subprocess.CompletedProcess:
        if not quiet:  # short, and without the run's secrets
            shown = " ".join(args).replace(self.db_password, "***").replace(self.password, "***")
            log(f"$ compose {shown[:300]}")
        try:
            return run([*self.compose, *args], env=self.env, quiet=True, **kwargs)
        except Failed as failure:
            raise Failed(str(failure).replace(self.db_password, "***").replace(self.password, "***")) from None

    def exec(self, service: str, *command: str, env: dict | None = None, **kwargs) -> subprocess.CompletedProcess:
        options = [item for key, value in (env or {}).items() for item in ("-e", f"{key}={value}")]
        return self(*["exec", "-T", *options, service, *command], **kwargs)

    def manage(self, *command: str, database: str | None = None, service: str = "web", **kwargs) -> str:
        env = {"DATABASE_URL": self.database_url(database)} if database else None
        kwargs.setdefault("capture", True)
        return self.exec(service, "python", "manage.py", *command, env=env, **kwargs).stdout

    def database_url(self, database: str) -> str:
        return f"postgres://{DB_USER}:{self.db_password}@postgres:5432/{database}"

    def sql(self, query: str, database: str = DB_NAME, check: bool = True) -> str:
        result = self.exec(
            "postgres",
            "psql",
            "-U",
            DB_USER,
            "-d",
            database,
            "-At",
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            query,
            capture=True,
            check=check,
            quiet=True,
        )
        return result.stdout.strip() if result.returncode == 0 else ""

    def container(self, service: str) -> str:
        if service not in self.containers:
            cid = self("ps", "-q", service, capture=True, quiet=True).stdout.strip()
            if not cid:
                raise Failed(f"no container for service {service}")
            self.containers[service] = cid
        return self.containers[service]

    def state(self, service: str) -> str:
        """`running healthy`, `running starting`, `exited`, ... of a service's container."""
        result = run(
            [
                "docker",
                "inspect",
                "-f",
                "{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{end}}",
                self.container(service),
            ],
            check=False,
            capture=True,
            quiet=True,
        )
        return result.stdout.strip() or "missing"

    def up(self) -> None:
        self.started = True
        self("up", "-d", "--no-build", capture=True)

    def wait_healthy(self, services=SERVICES_WITH_HEALTHCHECKS, also_running=("beat",), seconds: float = 300):
        seconds *= timeout_scale()
        started, last_print = time.monotonic(), 0.0
        while True:
            states = {s: self.state(s) for s in (*services, *also_running)}
            ready = all(states[s] == "running healthy" for s in services) and all(
                states[s].startswith("running") for s in also_running
            )
            waited = time.monotonic() - started
            if ready:
                log(f"healthy after {waited:.0f} s: " + ", ".join(f"{s} {v}" for s, v in states.items()))
                return
            dead = [s for s, v in states.items() if not v.startswith(("running", "restarting"))]
            if dead or waited > seconds:
                raise Failed(
                    ("containers stopped: " if dead else f"not healthy within {seconds:.0f} s: ")
                    + ", ".join(f"{s}={v}" for s, v in states.items())
                )
            if waited - last_print >= 10:
                last_print = waited
                log(
                    f"waiting for healthchecks ({waited:.0f}/{seconds:.0f} s): "
                    + ", ".join(f"{s} {v}" for s, v in states.items())
                )
            time.sleep(1)

    def dump_logs(self) -> None:
        with suppress(Exception):
            log("last log lines of every service:")
            self("logs", "--no-color", "--tail", "60", check=False)

    def down(self) -> None:
        self("down", "-v", "--remove-orphans", "-t", "10", check=False, capture=not self.started)
        self.started = False


# --- 5. HTTP, as a browser behind the TLS-terminating proxy would be seen -----------------------------------------


class Browser:
    def __init__(self, port: int, host: str = "localhost"):
        self.port, self.host, self.cookies = port, host, {}

    def request(
        self,
        method: str,
        path: str,
        body: str | None = None,
        headers: dict | None = None,
        https: bool = True,
        host: str | None = None,
    ) -> tuple[int, dict, str]:
        from http.cookies import SimpleCookie

        sent = {"Host": host or self.host}
        if https:
            sent["X-Forwarded-Proto"] = "https"  # what the proxy in front of gunicorn adds
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        sent.update(headers or {})
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            text = response.read().decode("utf-8", "replace")
        finally:
            connection.close()
        for value in response.headers.get_all("Set-Cookie") or []:
            cookie = SimpleCookie()
            cookie.load(value)
            for name, morsel in cookie.items():
                self.cookies[name] = morsel.value
        return response.status, dict(response.headers), text

    def login(self, username: str, password: str) -> None:
        status, _, page = self.request("GET", "/accounts/login/")
        match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        if status != 200 or not match or "csrftoken" not in self.cookies:
            raise Failed(f"login page: HTTP {status}, csrf form field {'found' if match else 'missing'}")
        origin = f"https://{self.host}"
        body = urllib.parse.urlencode(
            {"username": username, "password": password, "csrfmiddlewaretoken": match.group(1)}
        )
        status, headers, page = self.request(
            "POST",
            "/accounts/login/",
            body,
            {
                "Content-Type": "application/x-www-form-urlencoded",
                "Origin": origin,
                "Referer": f"{origin}/accounts/login/",
            },
        )
        if status != 302 or "sessionid" not in self.cookies:
            raise Failed(f"login as {username}: HTTP {status} (expected a 302 with a session cookie): {page[:500]}")
        ok(f"logged in as {username} over HTTP (redirected to {headers.get('Location')})")


# --- 6.-8. the scenario -------------------------------------------------------------------------------------------


def floor_hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def fetch_fleet(stack: Stack) -> dict:
    connection = http.client.HTTPConnection("127.0.0.1", stack.sandbox_port, timeout=30)
    connection.request("GET", "/_sandbox/fleet")
    response = connection.getresponse()
    body = response.read()
    if response.status != 200:
        raise Failed(f"the sandbox's fleet summary: HTTP {response.status}")
    return json.loads(body)


def slow_cloudwatch(stack: Stack, fault: dict) -> None:
    """Registers a sandbox fault (``/_sandbox/faults``, see sandbox/server.py) through its published port."""
    connection = http.client.HTTPConnection("127.0.0.1", stack.sandbox_port, timeout=30)
    connection.request("POST", "/_sandbox/faults", body=json.dumps(fault), headers={"Content-Type": "application/json"})
    response = connection.getresponse()
    response.read()
    if response.status != 200:
        raise Failed(f"the sandbox refused the fault {fault}: HTTP {response.status}")


def check_production_http(browser: Browser) -> None:
    """The settings in force are production's: plain HTTP is redirected, unknown hosts refused, /healthz ok."""
    status, headers, _ = browser.request("GET", "/healthz", https=False)
    if status != 301 or not headers.get("Location", "").startswith("https://"):
        raise Failed(f"plain HTTP should be redirected to HTTPS in production: HTTP {status} {headers}")
    status, _, _ = browser.request("GET", "/healthz", host="wattson-attacker.example")
    if status != 400:
        raise Failed(f"a Host outside ALLOWED_HOSTS should be refused with 400, got HTTP {status}")
    status, headers, body = browser.request("GET", "/healthz")
    if status != 200 or json.loads(body) != {"status": "ok"}:
        raise Failed(f"/healthz through the proxy: HTTP {status} {body[:200]}")
    if "max-age=" not in headers.get("Strict-Transport-Security", ""):
        raise Failed("no HSTS header on an HTTPS response: not the production settings?")
    ok("production HTTP behaviour: HTTP -> 301 https, unknown Host -> 400, /healthz over HTTPS -> 200 with HSTS")


def register_accounts(stack: Stack, fleet: dict, database: str | None = None) -> None:
    """The sandbox's accounts, through the sandbox app's own command (run where the sandbox code lives)."""
    env = {"DATABASE_URL": stack.database_url(database)} if database else None
    script = 'f=$(mktemp) && cat > "$f" && python manage.py sandbox_accounts "$f"; s=$?; rm -f "$f"; exit $s'
    out = stack.exec("sandbox", "sh", "-c", script, env=env, input=json.dumps(fleet), capture=True).stdout
    log(out.strip())


def expected_states(stack: Stack) -> int:
    """How many (account, region, source) collections collect_all queues, asked of the product's own runner.plan
    (after the accounts are registered), so that a source added to the plan is waited for here too."""
    code = (
        "from collectors import runner; from collectors.models import AwsAccount; "
        "print(len(runner.plan(AwsAccount.objects.filter(enabled=True), sources=runner.HOURLY_SOURCES)))"
    )
    return int(stack.manage("shell", "-c", code).strip().splitlines()[-1])


HOURS_CHECKSUM = """
SELECT count(*) || ' ' || md5(coalesce(string_agg(concat_ws('|', a.account_id, e.region, e.name, h.variant_name,
       to_char(h.hour AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24'), h.instance_type, h.serverless_memory_mb,
       h.config_assumed, h.vcpus, h.gpus, h.instance_hours, h.cpu_util_pct, h.cpu_util_max_pct, h.gpu_util_pct,
       h.gpu_util_max_pct, h.gpu_memory_util_pct, h.memory_util_pct, h.memory_util_max_pct, h.disk_util_pct,
       h.invocations, h.model_latency_us), E'\\n' ORDER BY a.account_id, e.region, e.name, h.variant_name, h.hour), ''))
FROM collectors_varianthour h JOIN collectors_endpoint e ON e.id = h.endpoint_id
JOIN collectors_awsaccount a ON a.id = e.account_id
WHERE h.hour >= '{lo}' AND h.hour < '{hi}'
"""
ENDPOINTS_CHECKSUM = """
SELECT count(*) || ' ' || md5(coalesce(string_agg(concat_ws('|', a.account_id, e.region, e.name, e.status, e.mode,
       e.config_name, e.deleted_at IS NULL), E'\\n' ORDER BY a.account_id, e.region, e.name), ''))
FROM collectors_endpoint e JOIN collectors_awsaccount a ON a.id = e.account_id
"""
STATES = """
SELECT count(*) FILTER (WHERE last_success >= '{since}' AND lease_owner = ''),
       count(*) FILTER (WHERE lease_until > now() AND last_attempt >= '{fresh}'),
       string_agg(region || ' ' || source || ': ' || last_error, '; ') FILTER (WHERE last_error_at >= '{since}')
FROM collectors_collectionstate
"""
IN_HAND = """
SELECT string_agg(a.account_id || ' ' || c.region || ' ' || c.source, ', ')
FROM collectors_collectionstate c JOIN collectors_awsaccount a ON a.id = c.account_id
WHERE c.lease_until > now() AND c.last_attempt >= '{fresh}'
"""
NOT_DONE = """
SELECT string_agg(a.account_id || ' ' || c.region || ' ' || c.source || ' (lease until '
       || coalesce(c.lease_until::text, 'none') || ')', '; ')
FROM collectors_collectionstate c JOIN collectors_awsaccount a ON a.id = c.account_id
WHERE NOT (coalesce(c.last_success >= '{since}', false) AND c.lease_owner = '')
"""


def collection_states(stack: Stack, since: str, fresh: str | None = None) -> tuple[int, int, str] | None:
    """(succeeded since `since` and unleased, leases taken since `fresh` and held now, errors since `since`), or None
    while the database is away."""
    out = stack.sql(STATES.format(since=since, fresh=fresh or since), check=False)
    if not out:
        return None
    done, leased, errors = (out.split("|") + ["", "", ""])[:3]
    return int(done), int(leased), errors


def product_settings(stack: Stack) -> dict:
    code = (
        "import json; from django.conf import settings as s; "
        "print(json.dumps({'visibility_timeout': (getattr(s, 'CELERY_BROKER_TRANSPORT_OPTIONS', None) or {})"
        ".get('visibility_timeout'), 'lease_seconds': s.COLLECT_LEASE_SECONDS}))"
    )
    return json.loads(stack.manage("shell", "-c", code).strip().splitlines()[-1])


def wait_for(what: str, predicate, seconds: float, poll: float = 0.5):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(poll)
    raise Failed(f"{what}: not within {seconds:.0f} s")


def scenario(stack: Stack) -> None:
    step = time.monotonic()
    stack.down()  # what an interrupted earlier run may have left
    stack.up()
    stack.wait_healthy()
    ok(f"stack up, every healthcheck passing, in {time.monotonic() - step:.0f} s")
    browser = Browser(stack.web_port)
    check_production_http(browser)
    fleet = fetch_fleet(stack)

    # A user in both teams (as `make demo` makes them), the sandbox's accounts, a login, an API token.
    # demo_setup is a sandbox command: production settings do not offer it, so it runs in the sandbox container.
    log(
        stack.manage("demo_setup", f"--username={USERNAME}", f"--password={stack.password}", service="sandbox")
        .strip()
        .replace(stack.password, "***")
    )
    register_accounts(stack, fleet)
    expected = expected_states(stack)
    log(f"collect_all queues {expected} (account, region, source) collections")
    browser.login(USERNAME, stack.password)
    status, _, page = browser.request("GET", "/")
    if status != 200:
        raise Failed(f"overview page after login: HTTP {status}")
    token = (
        stack.manage(
            "shell",
            "-c",
            (
                "from django.contrib.auth import get_user_model; from dashboard.teams.models import Team; "
                "from dashboard.teams.models.tokens import ApiToken; "
                f"u = get_user_model().objects.get(username='{USERNAME}'); t = Team.objects.get(slug='ml-platform'); "
                "print(ApiToken.issue(u, t, 'compose-test')[1])"
            ),
        )
        .strip()
        .splitlines()[-1]
    )

    # Reference: one uninterrupted, synchronous collection into a database of its own.
    step = time.monotonic()
    stack.sql(f"CREATE DATABASE {REFERENCE_DB}", database="postgres")
    stack.manage("migrate", "--no-input", database=REFERENCE_DB)
    register_accounts(stack, fleet, REFERENCE_DB)
    out = stack.manage("collect", "--no-estimate", database=REFERENCE_DB)
    ok(
        f"reference collection (manage.py collect, uninterrupted) in {time.monotonic() - step:.0f} s: "
        f"{out.strip().splitlines()[0] if out.strip() else '(no summary)'}"
    )

    # The same collection through Celery, broken twice while it runs.
    timeouts = product_settings(stack)
    redelivery = timeouts["visibility_timeout"] or 3600  # Kombu's Redis default when the settings give none
    log(
        f"product settings: broker visibility timeout {timeouts['visibility_timeout']} "
        f"(redelivery after {redelivery} s), collection lease {timeouts['lease_seconds']} s"
    )
    # A slow CloudWatch (the sandbox answers GetMetricData 30 s late, a few times), so that the database restart
    # and the worker kill below land while tasks are in hand: with the fast seeding, a collection otherwise
    # finished before the kill and nothing was redelivered.
    slow_cloudwatch(stack, {"operation": "GetMetricData", "delay_seconds": 30, "count": 6})
    since = stack.sql("SELECT now()")
    step = time.monotonic()
    stack.manage("shell", "-c", "from collectors.tasks import collect_all; print(collect_all.delay().id)")
    log("queued collect_all on the worker")

    fresh = since

    def mid_collection():
        """A task holds a lease it took since `fresh` (a lease left by a task the database restart interrupted
        does not count) and the collection is not finished."""
        states = collection_states(stack, since, fresh)
        return states if states and states[1] > 0 and states[0] < expected else None

    done, leased, _ = wait_for("a collection task holding its lease", mid_collection, 120 * timeout_scale())
    log(f"mid-collection ({done}/{expected} done, {leased} leased): restarting the postgres container")
    run(["docker", "restart", "-t", "10", stack.container("postgres")], capture=True)
    stack.wait_healthy(("postgres",), also_running=(), seconds=120)
    fresh = stack.sql("SELECT now()")
    states = wait_for(
        "a collection task running again after the database restart", mid_collection, 120 * timeout_scale()
    )
    done, leased, _ = states
    in_hand = stack.sql(IN_HAND.format(fresh=fresh), check=False)
    if not in_hand:
        raise Failed("no collection was in hand when the worker was to be killed: the kill would test nothing")
    log(f"mid-collection ({done}/{expected} done; leased: {in_hand}): docker kill -s KILL the worker")
    worker = stack.container("worker")
    run(["docker", "kill", "-s", "KILL", worker], capture=True)
    time.sleep(2)
    if not stack.state("worker").startswith("running"):
        run(["docker", "start", worker], capture=True)
    log(f"worker started again ({stack.state('worker')})")

    # The killed worker's tasks come back after the broker's visibility timeout, then need a minute or two. When
    # that is longer than the test may wait, wait only for the rest, and say why the killed tasks did not come back.
    margin = 300 * timeout_scale()
    cap = float(os.environ.get("COMPOSE_TEST_MAX_COLLECT_SECONDS", 1800))
    limit = redelivery + margin if redelivery + margin <= cap else margin
    log(f"waiting up to {limit:.0f} s for all {expected} (account, region, source) collections to succeed")
    started, last_print, states = time.monotonic(), 0.0, None
    while time.monotonic() - started < limit:
        states = collection_states(stack, since) or states
        if states and states[0] == expected:
            break
        if time.monotonic() - last_print >= 15:
            last_print = time.monotonic()
            log(
                f"  {states[0] if states else '?'}/{expected} done, {states[1] if states else '?'} leased"
                + (f"; errors: {states[2]}" if states and states[2] else "")
            )
        time.sleep(2)
    if not states or states[0] != expected:
        missing = stack.sql(NOT_DONE.format(since=since), check=False)
        hint = (
            f" The broker's visibility timeout is {redelivery} s: a task whose worker was killed comes back only"
            " after that long."
            if redelivery > limit - 60
            else ""
        )
        if redelivery + margin > cap:
            hint += (
                f" That is longer than this test waits ({cap:.0f} s, COMPOSE_TEST_MAX_COLLECT_SECONDS): a killed"
                " worker delays data by that long in production too."
            )
        raise Failed(
            f"collections missing: after the database restart and the worker kill only "
            f"{states[0] if states else 0}/{expected} collections succeeded within {limit:.0f} s; "
            f"not done: {missing or '(none recorded)'}; errors: {(states and states[2]) or 'none'}.{hint}"
        )
    ok(
        f"collection through the worker survived the database restart and the worker kill: {expected}/{expected} "
        f"succeeded in {time.monotonic() - step:.0f} s" + (f" (errors on the way: {states[2]})" if states[2] else "")
    )

    # Nothing lost: the collected hours and endpoints equal the reference's.
    hi = floor_hour(datetime.fromisoformat(fleet["seeded_at"]))
    lo = hi - timedelta(days=12)
    window = {"lo": lo.isoformat(), "hi": hi.isoformat()}
    for name, query in (("variant hours", HOURS_CHECKSUM.format(**window)), ("endpoints", ENDPOINTS_CHECKSUM)):
        reference, result = stack.sql(query, REFERENCE_DB), stack.sql(query)
        if reference != result or reference.startswith("0 "):
            raise Failed(
                f"{name}: the interrupted collection differs from the reference: rows+checksum {result} vs {reference}"
            )
        ok(f"{name} equal to the reference (rows and md5: {result})")

    # A page and the API show what was collected.
    names = set(
        stack.sql(
            "SELECT string_agg(e.name, ',') FROM collectors_endpoint e JOIN collectors_awsaccount a"
            " ON a.id = e.account_id JOIN dashboard_team t ON t.id = a.team_id"
            " WHERE t.slug = 'ml-platform'"
        ).split(",")
    )
    status, _, page = browser.request("GET", "/endpoints/")
    shown = {name for name in names if name in page}
    if status != 200 or not shown:
        raise Failed(f"endpoint list page: HTTP {status}, {len(shown)} of the team's {len(names)} endpoints shown")
    ok(f"endpoint list page: HTTP 200, {len(shown)} of the team's {len(names)} endpoint names on it")
    api = Browser(stack.web_port)  # no session: the token alone
    listed, path = [], "/api/v1/endpoints/"
    while path:
        status, _, body = api.request(
            "GET", path, headers={"Authorization": f"Bearer {token}", "Accept": "application/json"}
        )
        if status != 200:
            raise Failed(f"API {path}: HTTP {status} {body[:300]}")
        payload = json.loads(body)
        listed += [item["name"] for item in payload["results"]]
        path = (
            urllib.parse.urlsplit(payload["next"])._replace(scheme="", netloc="").geturl()
            if payload.get("next")
            else None
        )
    if sorted(listed) != sorted(names):
        raise Failed(f"API /api/v1/endpoints/ lists {len(listed)} endpoints, the team has {len(names)}")
    ok(f"API /api/v1/endpoints/ with a token: the team's {len(listed)} endpoints")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images-only", action="store_true", help="build the images, then stop")
    parser.add_argument("--keep", action="store_true", help="leave the stack running at the end (debugging)")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="wattson-compose-test-"))
    daemon = None
    stack = None
    try:
        ensure_tools()
        daemon = start_engine(workdir)
        step = time.monotonic()
        build_standins(workdir)
        log(f"stand-in images ready in {time.monotonic() - step:.0f} s")
        step = time.monotonic()
        build_product(workdir)
        log(f"product images ready in {time.monotonic() - step:.0f} s")
        check_product_image()
        if args.images_only:
            return 0
        stack = Stack(compose_command(), workdir)
        scenario(stack)
        log(f"PASSED in {time.monotonic() - T0:.0f} s")
        # Not in pytest's "N passed, N failed" form: CI reads the suite's own closing line for the test count.
        print(f"compose-test: all {len(CHECKS)} checks held", flush=True)
        return 0
    except Failed as failure:
        if stack is not None:
            stack.dump_logs()
        log(f"FAILED after {time.monotonic() - T0:.0f} s: {failure}")
        print(f"compose-test: FAILED after {len(CHECKS)} checks held", flush=True)
        return 1
    except KeyboardInterrupt:
        log("interrupted")
        return 1
    finally:
        if stack is not None and not args.keep:
            with suppress(Exception):
                stack.down()
        if not args.keep:
            stop_engine(daemon)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
