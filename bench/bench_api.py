"""Benchmark the REST API on the bench-web fleet (default 1,000 endpoints x 365 days in PostgreSQL).

Reuses (or loads) bench-web's data set (bench/webdata.py: database ``wattson_bench_web``, one team, 2 AWS accounts
in 3 regions, 1,000 endpoints, a year of hourly rows with their estimates, and the daily rollups) and issues an API
token for the team's member (deleted at the end). Three measurements:

1. The emissions time series grouped by region over 90 days
   (``/api/v1/emissions/?group_by=region&grain=day&start=<89 days ago>&end=<today>``), in-process with
   ``django.test.Client`` and DEBUG off, after 3 warm-up requests: server-side time of 50 requests (the whole
   Django stack, no network), p50 / p95 / max, and the SQL queries per request.
2. A load run on loopback against gunicorn with 2 threaded workers (as the Dockerfile runs it, access log on) for 30 s,
   8 connections, on the same URL, with ``wrk`` (``apt-get install wrk``; without it, a small Python load
   generator with 8 keep-alive ``http.client`` connections, labelled as such): requests per second and errors
   (socket errors, timeouts, and any status but 200). The per-token throttle is lifted for this run
   (``API_THROTTLE_RATE=1000000/min``), or it would answer 429 past 1,200 requests a minute.
3. A streamed year-long CSV export from the same gunicorn: ``/api/v1/usage/?grain=hour&format=csv`` over the data
   set's 365 days (8.76 million rows, 1.8 GB, at 1,000 endpoints), read in 1 MiB chunks, while the gunicorn
   workers' RSS (VmRSS) is sampled every 0.5 s: peak worker RSS, rows, bytes, seconds, rows/s. ``--csv-scope``
   narrows it to one account or one endpoint; a stream still running after ``--csv-timeout`` seconds (default 600)
   is stopped, and what was streamed by then is reported. Gunicorn runs as deployed (Dockerfile): threaded
   workers with the default ``--timeout 30``, which a threaded worker's heartbeat keeps while a thread streams (a
   sync worker would be killed after 30 s on one request, cutting the export). Gunicorn's database connections are
   named (PGAPPNAME) so that a query still running in PostgreSQL after the benchmark stops is terminated.

   PostgreSQL writes that CSV itself (``COPY (SELECT ...) TO STDOUT WITH CSV``, dashboard/api/export.py); the
   benchmark prints rows/s end to end, the first-byte time and the peak worker RSS, and their ratio to the target.
4. The FOCUS 1.2 CSV (``/api/v1/focus/?format=csv``) over the same days, from the same gunicorn: rows/s, first
   byte and peak worker RSS, reported only (rows are endpoint-days, summed from the daily rollups); it fails only
   when the server cuts the stream.

Targets: emissions p95 under 150 ms; the load run at least 100 requests/s with zero errors; the export's peak
worker RSS under 300 MB (our target: the issue asks only to report it) and the export not cut by the server
(the benchmark's own --csv-timeout stop is not a failure, but what was measured is then printed as partial);
the export at least 150,000 rows/s end to end and, for the full 8.76 M rows, under 60 s (issue 15).
Exits 1 when a target is missed.

    python bench/bench_api.py [--endpoints 1000] [--days 365] [--requests 50] [--reload] [--duration 30]
        [--connections 8] [--csv-scope team|account|endpoint] [--csv-timeout 600] [--gunicorn-timeout SECONDS]
"""

import argparse
import datetime as dt
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_web  # noqa: E402 - the shared data set and Django set-up

ROOT = bench_web.ROOT
TARGET_P95_MS = 150.0
TARGET_RPS = 100.0
TARGET_RSS_MB = 300.0  # ours: the issue asks only to report the export's peak RSS
TARGET_ROWS_PER_S = 150_000.0  # issue 15: >= 150,000 rows/s end to end, 8.76 M rows in under a minute
TARGET_EXPORT_S = 60.0
WINDOW_DAYS = 90
WORKERS = 2
THROTTLE = "1000000/min"
SAMPLE_SECONDS = 0.5
READ_CHUNK = 1 << 20
SQL_SHOWN = 1500
FULL_YEAR_ROWS = 8_760_000  # a year of 1,000 endpoints' hours: the export the targets are for
DEPLOYED_TIMEOUT = 30  # gunicorn's default --timeout, which the Dockerfile and docker-compose.yml keep
DEPLOYED_WORKER = ["--worker-class", "gthread", "--threads", "4"]  # as the Dockerfile runs it
APP_NAME = f"wattson-bench-api-{os.getpid()}"  # PGAPPNAME of gunicorn's database connections


# --- Set-up --------------------------------------------------------------------------------------------------------


def issue_token() -> tuple[object, str]:
    from dashboard.teams.models import ApiToken, Team

    team = Team.objects.filter(aws_accounts__isnull=False).distinct().get()
    membership = team.memberships.select_related("user").first()
    if membership is None:
        raise SystemExit(f"team {team} has no member to issue a token for")
    return ApiToken.issue(membership.user, team, "bench-api")


def data_end_hour() -> dt.datetime:
    """The last generated hour of the stored data set (it may have been loaded earlier today)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT meta FROM bench_web_meta WHERE id = 1")
        meta = cursor.fetchone()[0]
    meta = meta if isinstance(meta, dict) else json.loads(meta)
    return dt.datetime.fromisoformat(meta["end_hour"])


def emissions_url() -> str:
    end = dt.datetime.now(dt.UTC).date()
    start = end - dt.timedelta(days=WINDOW_DAYS - 1)
    return f"/api/v1/emissions/?group_by=region&grain=day&start={start}&end={end}"


def csv_url(scope: str, days: int) -> tuple[str, str]:
    """The export's URL and a description of what it covers."""
    from django.db.models import Count

    from collectors.models import AwsAccount, Endpoint

    end = data_end_hour() + dt.timedelta(hours=1)
    start = end - dt.timedelta(days=days)
    url = f"/api/v1/usage/?grain=hour&format=csv&start={start:%Y-%m-%dT%H:%M:%SZ}&end={end:%Y-%m-%dT%H:%M:%SZ}"
    if scope == "account":
        account = AwsAccount.objects.annotate(n=Count("endpoints")).order_by("-n", "pk").first()
        return f"{url}&account_id={account.account_id}", f"account {account.account_id} ({account.n:,} endpoints)"
    if scope == "endpoint":
        endpoint = Endpoint.objects.order_by("pk").first()
        return f"{url}&endpoint={endpoint.pk}", f"endpoint {endpoint.pk} ({endpoint.name})"
    return url, f"the whole team ({Endpoint.objects.count():,} endpoints)"


def focus_url(days: int) -> str:
    """The FOCUS 1.2 CSV over the data set's days (one row per endpoint, day and instance type)."""
    end = data_end_hour().date()
    return f"/api/v1/focus/?format=csv&start={end - dt.timedelta(days=days - 1)}&end={end}"


# --- 1. In-process timing --------------------------------------------------------------------------------------------


def time_emissions(plaintext: str, url: str, requests: int) -> bool:
    from django.test import Client

    client = Client(headers={"Authorization": f"Bearer {plaintext}"})
    response = client.get(url)
    if response.status_code != 200:
        print(f"GET {url} answered {response.status_code}: {response.content[:300]!r}")
        return False
    results = response.json()["results"]
    print(
        f"\n1. emissions, in-process: GET {url}\n   {len(results)} rows "
        f"({len({row['period_start'] for row in results})} days x {len({row['group'] for row in results})} "
        f"regions); {requests} requests after {bench_web.WARM_UP} warm-ups; {bench_web.load_average()}",
        flush=True,
    )
    from django.core.cache import cache

    class Uncached(Client):
        """Every request computes the series: the API caches it per data version, which the target must not hide."""

        def get(self, *args, **kwargs):
            cache.clear()
            return super().get(*args, **kwargs)

    warm = bench_web.measure(client, url, requests)
    print(f"   cached (same data version): p50 {warm['p50']:.1f} ms, p95 {warm['p95']:.1f} ms", flush=True)
    figures = bench_web.measure(Uncached(headers={"Authorization": f"Bearer {plaintext}"}), url, requests)
    low, high = figures["queries"]
    passed = figures["p95"] < TARGET_P95_MS
    print("   computed every time (cache cleared before each request):", flush=True)
    print(
        f"   p50 {figures['p50']:.1f} ms, p95 {figures['p95']:.1f} ms, max {figures['max']:.1f} ms, "
        f"SQL p50 {figures['sql_p50']:.1f} ms, {low if low == high else f'{low}-{high}'} queries; "
        f"target p95 < {TARGET_P95_MS:.0f} ms: {'PASS' if passed else 'FAIL'}",
        flush=True,
    )
    if not passed:
        slowest = figures["slowest"]
        sql = " ".join(slowest["sql"].split())
        print(
            f"   slowest SQL statement ({float(slowest['time']) * 1000:.0f} ms): {sql[:SQL_SHOWN]}"
            f"{' ...' if len(sql) > SQL_SHOWN else ''}",
            flush=True,
        )
    return passed


# --- 2. gunicorn -----------------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_gunicorn(folder: Path, port: int, timeout: int) -> tuple[subprocess.Popen, Path]:
    gunicorn = Path(sys.executable).parent / "gunicorn"
    if not gunicorn.exists():
        gunicorn = Path(shutil.which("gunicorn") or "gunicorn")
    env = {
        **os.environ,
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
        "API_THROTTLE_RATE": THROTTLE,
        "VAR_DIR": str(folder),
        "DJANGO_SETTINGS_MODULE": "dashboard.settings",
        "PGAPPNAME": APP_NAME,
    }
    log = folder / "gunicorn.log"
    command = [
        str(gunicorn),
        "dashboard.wsgi:application",
        "--workers",
        str(WORKERS),
        "--bind",
        f"127.0.0.1:{port}",
        "--access-logfile",
        "-",
        "--timeout",
        str(timeout),
        *DEPLOYED_WORKER,
    ]
    if "--no-control-socket" in subprocess.run([str(gunicorn), "--help"], capture_output=True, text=True).stdout:
        command.append("--no-control-socket")  # gunicorn >= 25 would otherwise share ~/.gunicorn/gunicorn.ctl
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited with {process.returncode}:\n{tail(log)}")
        try:
            status, _ = get(port, "/healthz", {})
            if status == 200 and len(workers(process.pid)) == WORKERS:
                break
        except OSError:
            pass
        time.sleep(0.2)
    else:
        stop(process)
        raise SystemExit(f"gunicorn did not answer /healthz within 60 s:\n{tail(log)}")
    rss = ", ".join(f"{pid}: {status_mb(pid, 'VmRSS'):.0f} MB RSS" for pid in workers(process.pid))
    print(
        f"\ngunicorn {' '.join(command[1:])}\n   (pid {process.pid}, workers {rss}); "
        f"DEBUG=false, API_THROTTLE_RATE={THROTTLE} (throttle lifted for the load run)"
        f"{'' if timeout == DEPLOYED_TIMEOUT else f'; --timeout {timeout} (deployed: {DEPLOYED_TIMEOUT})'}",
        flush=True,
    )
    return process, log


def stop(process: subprocess.Popen) -> None:
    """Stop gunicorn, then cancel whatever its connections still run in PostgreSQL (an abandoned export's query)."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid, now() - query_start, left(query, 60) FROM pg_stat_activity "
            "WHERE application_name = %s AND state = 'active'",
            [APP_NAME],
        )
        for pid, running, query in cursor.fetchall():
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
            print(f"stopped a query of gunicorn's still running in PostgreSQL after {running}: {query} ...")


def tail(log: Path, lines: int = 20) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def get(port: int, url: str, headers: dict, timeout: float = 30) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", url, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def workers(master: int) -> list[int]:
    """The gunicorn master's child processes (its workers)."""
    try:
        return [int(pid) for pid in Path(f"/proc/{master}/task/{master}/children").read_text().split()]
    except OSError:
        result = subprocess.run(["ps", "--ppid", str(master), "-o", "pid="], capture_output=True, text=True)
        return [int(pid) for pid in result.stdout.split()]


def status_mb(pid: int, field: str) -> float:
    """VmRSS or VmHWM of a process in MB (0 once it has gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


# --- 2. Load run -----------------------------------------------------------------------------------------------------


def load_run(port: int, url: str, plaintext: str, seconds: int, connections: int, log: Path) -> bool:  # noqa: PLR0913 - a benchmark step: the run's knobs
    headers = {"Authorization": f"Bearer {plaintext}"}
    for _ in range(2 * WORKERS):  # each worker's first request imports and connects
        status, body = get(port, url, headers)
        if status != 200:
            print(f"GET {url} on gunicorn answered {status}: {body[:300]!r}")
            return False
    logged = len(log.read_text(errors="replace").splitlines())
    wrk = shutil.which("wrk")
    print(
        f"\n2. load run, loopback, {seconds} s, {connections} connections: GET http://127.0.0.1:{port}{url}", flush=True
    )
    if wrk:
        figures = run_wrk(wrk, port, url, plaintext, seconds, connections)
    else:
        print(
            "   wrk is not installed (install it with: apt-get install wrk); FALLBACK: a Python load generator "
            f"({connections} threads, one keep-alive http.client connection each; it competes with the server "
            "for CPU, so it understates what the server can do)",
            flush=True,
        )
        figures = run_python_load(port, url, headers, seconds, connections)
    statuses = access_log_statuses(log, logged)
    errors = figures["errors"]
    passed = figures["rps"] >= TARGET_RPS and errors == 0
    print(
        f"   {figures['requests']:,} requests in {figures['seconds']:.1f} s: {figures['rps']:.1f} requests/s; "
        f"latency p50 {figures['p50']}, p99 {figures['p99']}; errors: {errors} "
        f"({figures['error_detail']}); gunicorn access log statuses: {statuses}",
        flush=True,
    )
    print(
        f"   target >= {TARGET_RPS:.0f} requests/s and 0 errors: {'PASS' if passed else 'FAIL'}; "
        f"{bench_web.load_average()}",
        flush=True,
    )
    return passed


def run_wrk(wrk: str, port: int, url: str, plaintext: str, seconds: int, connections: int) -> dict:  # noqa: PLR0913 - a benchmark step: wrk's knobs
    command = [
        wrk,
        "-t2",
        f"-c{connections}",
        f"-d{seconds}s",
        "--latency",
        "-H",
        f"Authorization: Bearer {plaintext}",
        f"http://127.0.0.1:{port}{url}",
    ]
    print(f"   wrk -t2 -c{connections} -d{seconds}s --latency -H 'Authorization: Bearer wtsn_…' <url>", flush=True)
    output = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60).stdout

    def find(pattern: str, default: str = "0") -> str:
        match = re.search(pattern, output)
        return match.group(1) if match else default

    total = re.search(r"(\d+) requests in ([\d.]+)(m?s|m)\b", output)
    if total is None:
        raise SystemExit(f"could not read wrk's output:\n{output}")
    elapsed = float(total.group(2)) * {"ms": 0.001, "s": 1.0, "m": 60.0}[total.group(3)]
    sockets = dict(re.findall(r"(connect|read|write|timeout) (\d+)", find(r"Socket errors: ([^\n]*)", "")))
    non_2xx = int(find(r"Non-2xx or 3xx responses: (\d+)"))
    socket_errors = sum(int(count) for count in sockets.values())
    return {
        "requests": int(total.group(1)),
        "seconds": elapsed,
        "rps": float(find(r"Requests/sec:\s+([\d.]+)")),
        "p50": find(r"50%\s+(\S+)", "?"),
        "p99": find(r"99%\s+(\S+)", "?"),
        "errors": non_2xx + socket_errors,
        "error_detail": f"non-2xx/3xx {non_2xx}, socket errors "
        f"{', '.join(f'{k} {v}' for k, v in sockets.items()) if sockets else 'none'}",
    }


def run_python_load(port: int, url: str, headers: dict, seconds: int, connections: int) -> dict:
    deadline = time.monotonic() + seconds
    lock = threading.Lock()
    latencies: list[float] = []
    failures = {"status": 0, "socket": 0}

    def client() -> None:
        connection = None
        while time.monotonic() < deadline:
            try:
                connection = connection or http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                started = time.perf_counter()
                connection.request("GET", url, headers=headers)
                response = connection.getresponse()
                response.read()
                elapsed = time.perf_counter() - started
                with lock:
                    latencies.append(elapsed)
                    failures["status"] += response.status != 200
            except (OSError, http.client.HTTPException):
                with lock:
                    failures["socket"] += 1
                if connection:
                    connection.close()
                connection = None
        if connection:
            connection.close()

    started = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    ordered = sorted(latencies) or [0.0]
    return {
        "requests": len(latencies),
        "seconds": elapsed,
        "rps": len(latencies) / elapsed,
        "p50": f"{ordered[len(ordered) // 2] * 1000:.1f}ms",
        "p99": f"{ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000:.1f}ms",
        "errors": failures["status"] + failures["socket"],
        "error_detail": f"non-200 {failures['status']}, socket errors {failures['socket']}",
    }


def access_log_statuses(log: Path, skip: int) -> dict[str, int]:
    """Status codes of the access-log lines written after the first ``skip`` lines."""
    counts: dict[str, int] = {}
    for line in log.read_text(errors="replace").splitlines()[skip:]:
        match = re.search(r'" (\d{3}) ', line)
        if match:
            counts[match.group(1)] = counts.get(match.group(1), 0) + 1
    return counts


# --- 3. CSV export ---------------------------------------------------------------------------------------------------


class RssSampler(threading.Thread):
    """Samples the VmRSS of the gunicorn master's workers every SAMPLE_SECONDS (peak per worker pid)."""

    def __init__(self, master: int):
        super().__init__(daemon=True)
        self.master = master
        self.stopped = threading.Event()
        self.peak: dict[int, float] = {}

    def run(self) -> None:
        while not self.stopped.is_set():
            for pid in workers(self.master):
                self.peak[pid] = max(self.peak.get(pid, 0.0), status_mb(pid, "VmRSS"))
            self.stopped.wait(SAMPLE_SECONDS)

    def stop(self) -> None:
        self.stopped.set()
        self.join()


def csv_export(  # noqa: C901, PLR0913 - a benchmark step that measures and reports several figures
    port: int,
    master: int,
    url: str,
    what: str,
    plaintext: str,
    timeout: float,
    log: Path,
    gunicorn_timeout: int,
    label: str = "3. CSV export",
    throughput: bool = True,
) -> bool:
    before = {pid: status_mb(pid, "VmRSS") for pid in workers(master)}
    print(
        f"\n{label} of {what}, streamed from gunicorn (stopped after {timeout:.0f} s if still running):\n"
        f"   GET {url}\n   workers' RSS before: "
        f"{', '.join(f'{pid}: {mb:.0f} MB' for pid, mb in before.items())}",
        flush=True,
    )
    logged = len(log.read_text(errors="replace").splitlines())
    sampler = RssSampler(master)
    sampler.start()
    rows = size = 0
    first_byte = first_row = None
    outcome = "complete"
    status = None
    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)  # the first byte may take long
    last_report = started
    try:
        connection.connect()
        sock = connection.sock  # the response reads from it after the connection lets go of it
        connection.request("GET", url, headers={"Authorization": f"Bearer {plaintext}"})
        response = connection.getresponse()
        status = response.status
        if status != 200:
            outcome = f"FAILED, answered {status} after {time.perf_counter() - started:.1f} s: {response.read(200)!r}"
        while status == 200:
            sock.settimeout(max(timeout - (time.perf_counter() - started), 0.1))
            chunk = response.read1(READ_CHUNK)
            if not chunk:
                break
            if first_byte is None:
                first_byte = time.perf_counter() - started
            size += len(chunk)
            rows += chunk.count(b"\n")
            if first_row is None and rows >= 2:  # the header, then a data row
                first_row = time.perf_counter() - started
            now = time.perf_counter()
            if now - last_report >= 60:
                last_report = now
                print(
                    f"   ... {now - started:.0f} s: {rows:,} lines, {size / 1e6:,.0f} MB, peak worker RSS so far "
                    f"{max(sampler.peak.values(), default=0):.0f} MB",
                    flush=True,
                )
            if now - started > timeout:
                outcome = f"stopped by the benchmark after {timeout:.0f} s (--csv-timeout)"
                break
    except TimeoutError:
        outcome = f"stopped by the benchmark after {timeout:.0f} s (--csv-timeout), waiting for the server"
    except (OSError, http.client.HTTPException) as exc:
        outcome = f"CUT by the server: {type(exc).__name__}: {exc}"
    finally:
        connection.close()
    seconds = time.perf_counter() - started
    sampler.stop()
    rows = max(rows - 1, 0)  # the header line
    time.sleep(1)  # gunicorn logs a killed worker within a second or so
    news = [line for line in log.read_text(errors="replace").splitlines()[logged:] if line.startswith("[")]
    killed = [line for line in news if "WORKER TIMEOUT" in line or "SIGKILL" in line]
    if killed:
        outcome += f"; gunicorn killed the worker: {killed[0].split('] ', 3)[-1]}"
    peak = max(sampler.peak.values(), default=0.0)
    hwm = max((status_mb(pid, "VmHWM") for pid in workers(master)), default=0.0)
    streaming = seconds - (first_byte or seconds)
    print(
        f"   status {status}, {outcome}: {rows:,} rows, {size / 1e6:,.1f} MB in {seconds:.1f} s "
        f"({rows / seconds if seconds else 0:,.0f} rows/s, {size / 1e6 / seconds if seconds else 0:.1f} MB/s); "
        + (
            "no byte of CSV received"
            if first_byte is None
            else f"first byte after {first_byte:.1f} s"
            + (f", then {rows / streaming:,.0f} rows/s" if streaming >= 1 else "")
        ),
        flush=True,
    )
    print(
        f"   peak worker RSS (sampled every {SAMPLE_SECONDS} s): {peak:.0f} MB; per worker: "
        f"{', '.join(f'{pid}: {mb:.0f} MB' for pid, mb in sorted(sampler.peak.items()))}; "
        f"workers' VmHWM now: {hwm:.0f} MB",
        flush=True,
    )
    if news:
        print("   gunicorn log during the export:\n      " + "\n      ".join(news[-8:]), flush=True)
    cut = status != 200 or outcome.startswith("CUT") or bool(killed)
    if not cut and max(seconds, first_byte or 0) > DEPLOYED_TIMEOUT and gunicorn_timeout > DEPLOYED_TIMEOUT:
        how = (
            "answered 500 before its first byte"
            if (first_byte or seconds) > DEPLOYED_TIMEOUT
            else f"been cut after {DEPLOYED_TIMEOUT} s"
        )
        print(
            f"   NOTE: as deployed (gunicorn --timeout {DEPLOYED_TIMEOUT}), this export would have {how}: a sync "
            f"worker busy on one request for {DEPLOYED_TIMEOUT} s is killed (--gunicorn-timeout {DEPLOYED_TIMEOUT} "
            "shows it)",
            flush=True,
        )
    if not throughput:  # reported only: a 200 response and the stream not cut by the server
        print(
            f"   {rows / seconds if seconds else 0:,.0f} rows/s, first byte {first_byte or 0:.2f} s, peak worker RSS "
            f"{peak:.0f} MB ({peak - max(before.values(), default=0.0):+.0f} MB over the workers' before); "
            f"not cut by the server: {'PASS' if not cut else 'FAIL'}",
            flush=True,
        )
        return not cut
    passed = peak < TARGET_RSS_MB and not cut
    print(
        f"   target peak worker RSS < {TARGET_RSS_MB:.0f} MB (ours; the issue asks only to report it), a 200 "
        f"response and the stream not cut by the server: {'PASS' if passed else 'FAIL'}",
        flush=True,
    )
    rate = rows / seconds if seconds else 0.0
    fast = rate >= TARGET_ROWS_PER_S and (rows < FULL_YEAR_ROWS or seconds < TARGET_EXPORT_S) and outcome == "complete"
    print(
        f"   export {rate:,.0f} rows/s end to end (first byte {first_byte or 0:.2f} s, first row "
        f"{first_row or 0:.2f} s, peak worker RSS {peak:.0f} MB): "
        f"{rate / TARGET_ROWS_PER_S:.2f}x the target of {TARGET_ROWS_PER_S:,.0f} rows/s; {rows:,} rows in "
        f"{seconds:.1f} s (target for {FULL_YEAR_ROWS:,} rows: < {TARGET_EXPORT_S:.0f} s): "
        f"{'PASS' if fast else 'FAIL'}",
        flush=True,
    )
    return passed and fast


# --- Main ------------------------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoints", type=int, default=1000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--reload", action="store_true", help="load the data set even if a stored one fits")
    parser.add_argument("--load-workers", type=int, default=min(os.cpu_count() or 1, 4))
    parser.add_argument("--duration", type=int, default=30, help="seconds of the load run")
    parser.add_argument("--connections", type=int, default=8, help="connections of the load run")
    parser.add_argument(
        "--csv-scope",
        choices=("team", "account", "endpoint"),
        default="team",
        help="what the CSV export covers: the whole team (default), the larger account, one endpoint",
    )
    parser.add_argument("--csv-timeout", type=float, default=600, help="stop reading the export after this long")
    parser.add_argument(
        "--gunicorn-timeout",
        type=int,
        default=None,
        help=f"gunicorn --timeout (default and deployed: {DEPLOYED_TIMEOUT})",
    )
    args = parser.parse_args()
    # Threaded workers (as deployed) keep their heartbeat while a thread streams, so the deployed timeout holds.
    gunicorn_timeout = args.gunicorn_timeout or DEPLOYED_TIMEOUT
    if args.endpoints < 1 or args.days < 2 or args.requests < 2 or args.duration < 1 or args.connections < 1:
        parser.error("--endpoints >= 1, --days >= 2, --requests >= 2, --duration >= 1, --connections >= 1")
    results = {}
    with tempfile.TemporaryDirectory(prefix="wattson-bench-api-") as tmp:
        bench_web.setup_django(Path(tmp))
        bench_web.dataset(args)
        bench_web.sizes()
        token, plaintext = issue_token()
        try:
            url = emissions_url()
            export, what = csv_url(args.csv_scope, args.days)
            results["emissions p95"] = time_emissions(plaintext, url, args.requests)
            from django.db import connections

            connections.close_all()
            process, log = start_gunicorn(Path(tmp), free_port(), gunicorn_timeout)
            port = int(re.search(r":(\d+)$", process.args[process.args.index("--bind") + 1]).group(1))
            try:
                results["load run"] = load_run(port, url, plaintext, args.duration, args.connections, log)
                results["CSV export"] = csv_export(
                    port, process.pid, export, what, plaintext, args.csv_timeout, log, gunicorn_timeout
                )
                results["FOCUS CSV export"] = csv_export(
                    port,
                    process.pid,
                    focus_url(args.days),
                    f"FOCUS 1.2 rows over {args.days} days",
                    plaintext,
                    args.csv_timeout,
                    log,
                    gunicorn_timeout,
                    label="4. FOCUS CSV export",
                    throughput=False,
                )
            finally:
                stop(process)
        finally:
            token.delete()
    print(f"\npeak RSS of this process: {bench_web.peak_rss_mb():.0f} MB")
    print("targets: " + ", ".join(f"{name} {'PASS' if ok else 'FAIL'}" for name, ok in results.items()))
    return 0 if all(results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
