"""A soak: `sync` alone, long enough for a million checked reads; stale reads per million (make soak).

    python -m loadtests.soak                         # 1,000,000 reads within 30 minutes (the goal)
    python -m loadtests.soak --minutes 3 --reads 50000   # a short version

The same site, oracle, freshness monitor and Locust readers and writers as
`make loadtest` (loadtests/run.py), with more users and shorter waits between
reads. Writes loadtests/report/soak/ (summary.md, summary.json, the Locust
reports), next to the load test's summary. The run takes `--minutes` whatever
it reaches; the summary says whether it reached `--reads`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from loadtests.monitoring import append_report
from loadtests.oracle import oracle_url_from_env
from loadtests.run import ROOT, parse_args, run_mode
from loadtests.topology import pages_redis
from tools.stack import ensure_redis

PER_MILLION = 1_000_000


def parse_soak_args(argv: list[str] | None) -> tuple[argparse.Namespace, argparse.Namespace]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=1_000_000, help="reads to reach (1,000,000)")
    parser.add_argument("--minutes", type=float, default=30, help="length of the run (30)")
    parser.add_argument("--users", type=int, default=48, help="Locust users, a fifth of them writers (48)")
    parser.add_argument("--reader-wait", default="0,0.01", help="seconds between a reader's reads, min,max")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers (3)")
    parser.add_argument("--locust-workers", type=int, default=0, help="Locust worker processes (0: one process)")
    parser.add_argument("--out", default=str(ROOT / "loadtests" / "report" / "soak"))
    soak = parser.parse_args(argv)
    run_args = [
        *("--modes", "sync", "--duration", str(round(soak.minutes * 60)), "--users", str(soak.users)),
        *("--workers", str(soak.workers), "--locust-workers", str(soak.locust_workers), "--out", soak.out),
    ]
    return soak, parse_args(run_args)


def soak_summary(result: dict, soak: argparse.Namespace) -> dict:
    reads, checked, stale = result["reads"], result["reads_checked"], result["stale_reads"]
    seconds = result["duration_s"]
    return {
        "goal": {"reads": soak.reads, "minutes": soak.minutes},
        "reached": reads >= soak.reads,
        "reads": reads,
        "reads_checked": checked,
        "writes": result["writes"],
        "stale_reads": stale,
        "stale_per_million_reads": PER_MILLION * stale / reads if reads else None,
        "stale_per_million_checked": PER_MILLION * stale / checked if checked else None,
        "reads_per_s": reads / seconds if seconds else 0.0,
        "minutes_for_goal_at_this_rate": soak.reads / (reads / seconds) / 60 if reads and seconds else None,
        "stuck": result["stuck"]["stuck"],
        "http_failures": result["http_failures"],
        "freshness": result.get("freshness"),
    }


def soak_table(summary: dict) -> str:
    def per_million(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.1f}"

    rows = [
        ("goal", f"{summary['goal']['reads']:,} reads in {summary['goal']['minutes']:g} min"),
        ("reached", "yes" if summary["reached"] else "**no**"),
        ("reads / checked / writes", f"{summary['reads']:,} / {summary['reads_checked']:,} / {summary['writes']:,}"),
        ("reads/s", f"{summary['reads_per_s']:.0f}"),
        ("minutes a million reads take at this rate", per_million(summary["minutes_for_goal_at_this_rate"])),
        ("**stale reads**", f"**{summary['stale_reads']}**"),
        ("stale per million reads / checked reads", " / ".join(map(per_million, _rates(summary)))),
        ("stuck pages after the run", str(summary["stuck"])),
        ("HTTP failures", str(summary["http_failures"])),
    ]
    return "\n".join(["| | soak (`sync`) |", "|---|---|", *(f"| {title} | {cell} |" for title, cell in rows)])


def _rates(summary: dict) -> tuple[float | None, float | None]:
    return summary["stale_per_million_reads"], summary["stale_per_million_checked"]


def main(argv: list[str] | None = None) -> int:
    soak, args = parse_soak_args(argv)
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    os.environ["LOADTEST_READER_WAIT"] = soak.reader_wait
    with ensure_redis() as redis_url:
        os.environ["REDIS_URL"] = redis_url
        os.environ["LOADTEST_ORACLE_URL"] = oracle_url_from_env()
        with pages_redis(args.topology, redis_url) as pages_env:
            result = run_mode("sync", args, pages_env, out)
    summary = soak_summary(result, soak)
    table = soak_table(summary)
    (out / "summary.json").write_text(json.dumps({"soak": summary, "sync": result}, indent=2, default=str))
    (out / "summary.md").write_text(f"# Soak: stale reads per million\n\n{table}\n")
    print(table)
    print(append_report({"sync": result}, out))
    print(f"Report: {out}/summary.md, summary.json, metrics.png, sync.html")
    return 0 if summary["stale_reads"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
