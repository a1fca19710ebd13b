"""Benchmark the recommendation job on the bench-web fleet (default 1,000 endpoints x 365 days in PostgreSQL).

Reuses (or loads) bench-web's data set (bench/webdata.py: one team, 1,000 endpoints, a year of hourly rows;
one endpoint in 12 never serves, 5 % changed instance type 60 days ago), then times ``engine.recompute`` for the
team twice: the first run creates the recommendations, the second updates them (the hourly steady state).
Prints wall time, SQL queries, recommendations by kind and their monthly savings, and peak RSS.

Target: a re-computation for 1,000 endpoints under 60 s (the job runs hourly) and peak RSS under 1 GB.

    python bench/bench_recommend.py [--endpoints 1000] [--days 365] [--reload]
"""

import argparse
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_web  # noqa: E402 - the shared data set and Django set-up

TARGET_SECONDS = 60.0
TARGET_RSS_MB = 1024.0


def timed_recompute(team, label: str) -> float:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from dashboard.recommend import engine

    started = time.perf_counter()
    with CaptureQueriesContext(connection) as queries:
        outcome = engine.recompute(team)
    seconds = time.perf_counter() - started
    print(f"{label}: {seconds:.1f} s, {len(queries):,} SQL queries; {outcome}", flush=True)
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoints", type=int, default=1000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--reload", action="store_true")
    parser.add_argument("--load-workers", type=int, default=min(os.cpu_count() or 1, 4))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-recommend-") as folder:
        bench_web.setup_django(Path(folder))
        bench_web.dataset(args)
        bench_web.sizes()
        from dashboard.recommend.models import Recommendation
        from dashboard.teams.models import Team

        team = Team.objects.filter(aws_accounts__isnull=False).distinct().get()
        Recommendation.objects.filter(team=team).delete()
        first = timed_recompute(team, "first run (creates)")
        again = timed_recompute(team, "second run (updates)")
        recs = Recommendation.objects.filter(team=team, status="open")
        print("open recommendations by kind:", dict(Counter(recs.values_list("kind", flat=True))))
        print(
            f"monthly savings: {sum(r.monthly_co2e_kg_saved for r in recs):,.1f} kg CO2e, "
            f"{sum(r.monthly_kwh_saved for r in recs):,.1f} kWh, "
            f"${sum(r.monthly_usd_saved or 0 for r in recs):,.0f} where priced"
        )
        rss = bench_web.peak_rss_mb()
        print(f"peak RSS: {rss:.0f} MB")
        ok = max(first, again) < TARGET_SECONDS and rss < TARGET_RSS_MB
        print(f"target: under {TARGET_SECONDS:.0f} s per run and {TARGET_RSS_MB:.0f} MB: {'PASS' if ok else 'FAIL'}")
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
