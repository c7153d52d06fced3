"""Side-by-side benchmarks of cache_sync (`make bench`), reported as ratios from one run.

Each pair is measured in alternating rounds in the same process against the same
SQLite test database and the same Redis, and the median of the per-round ratios
is reported, so that the noise of a shared machine hits both sides alike.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import time
from collections.abc import Callable

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "website.settings")
os.environ.setdefault("CACHE_KEY_PREFIX", f"bench-{os.getpid()}")


def timed(function: Callable[[], object], repeat: int) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        function()
    return (time.perf_counter() - start) / repeat


def compare(name: str, subject, baseline, *, rounds: int, repeat: int, baseline_context=contextlib.nullcontext):
    subject_times, baseline_times = [], []
    for _ in range(rounds):
        with baseline_context():
            baseline_times.append(timed(baseline, repeat))
        subject_times.append(timed(subject, repeat))
    ratios = [s / b for s, b in zip(subject_times, baseline_times, strict=True)]
    return {
        "name": name,
        "subject_us": statistics.median(subject_times) * 1e6,
        "baseline_us": statistics.median(baseline_times) * 1e6,
        "ratio": statistics.median(ratios),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--bulk-rounds", type=int, default=3, help="rounds of the bulk and concurrent writes")
    parser.add_argument("--writers-seconds", type=float, default=3.0, help="seconds per side of 8 writers")
    parser.add_argument(
        "--soak", type=float, default=10.0, help="seconds of the outbox soak (PostgreSQL; 600 for the goal; 0: none)"
    )
    args = parser.parse_args(argv)
    django.setup()

    from django.test.utils import get_runner, setup_test_environment

    from benchmarks import scenarios, writes

    setup_test_environment()
    runner = get_runner(django.conf.settings)(verbosity=0, interactive=False)
    old_config = runner.setup_databases()
    try:
        pages = scenarios.run_all(compare, rounds=args.rounds, repeat=args.repeat)
        write_results = writes.run_writes(
            compare,
            rounds=args.rounds,
            repeat=args.repeat,
            bulk_rounds=args.bulk_rounds,
            writers_seconds=args.writers_seconds,
            soak=args.soak,
        )
    finally:
        scenarios.clean_up()
        runner.teardown_databases(old_config)
    report = scenarios.format_report(pages, write_results, args) + "\n".join(writes.format_writes_extra(write_results))
    print(report)
    os.makedirs("benchmarks/results", exist_ok=True)
    from django.db import connection

    vendor = connection.vendor
    for name in ("latest.md", f"{vendor}.md"):  # latest, and the last run of each database
        with open(f"benchmarks/results/{name}", "w") as out:
            out.write(report)
    if not all(check["ok"] for check in write_results["bulk"]["linear"]):
        print("FAILED: a bulk write is not linear in its rows (see above)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
