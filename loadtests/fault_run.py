"""`python -m loadtests.run --faults`: mode `sync` under a database restart, a migration and a Redis cut.

On a private PostgreSQL primary (tools/harness/postgres.py: a server the run may restart), the pages
on a private redis-server the run may pause, the oracle on another private one (it keeps answering
through the cut). Locust runs as in `make loadtest`; loadtests/faults.py applies the faults at 25, 50
and 75 % of the duration; the report attributes every stale read and 503 to the window it was sent
in (loadtests/fault_windows.py). Exit status 1 when a stale read falls outside every window, a page
is stuck after the run, an answer was a 500, or a relay or gunicorn exited.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from collections import Counter
from pathlib import Path

import redis

from loadtests.fault_windows import attribute_to_windows, failed_checks, other_failures, window_as_json
from loadtests.faults import AT_SHARES, SETTLE_S, FaultSchedule, cut_redis, migrate_watched_model, restart_database
from loadtests.oracle import DEFAULT_ORACLE_DB, Oracle, oracle_url
from loadtests.report import summarize
from tools.stack import private_redis

STATUS = re.compile(rb'" (\d{3}) ')  # gunicorn's default access log: ... "GET / HTTP/1.1" 200 1234 ...


def count_statuses(access_logs: list[Path]) -> Counter:
    """HTTP status -> answers, over every app server's access log (readers, writers, the stuck check)."""
    statuses: Counter = Counter()
    for path in access_logs:
        with path.open("rb") as log:
            for line in log:
                if match := STATUS.search(line):
                    statuses[int(match.group(1))] += 1
    return statuses


def main(args) -> int:
    from tools.harness.postgres import PrivatePostgres, Unavailable

    if args.modes != ["sync"] and set(args.modes) != {"ttl", "naive", "sync"}:
        print("--faults runs mode sync only; --modes is ignored", file=sys.stderr)
    try:
        postgres = PrivatePostgres()
    except Unavailable as error:
        print(f"--faults needs a PostgreSQL server it may restart, started here: {error}", file=sys.stderr)
        return 2
    out = Path(args.out).resolve()
    (out / "logs").mkdir(parents=True, exist_ok=True)
    with postgres, private_redis() as oracle_redis, private_redis() as pages_url:
        pages_pid = int(redis.Redis.from_url(pages_url).info("server")["process_id"])
        os.environ["DATABASE_URL"] = postgres.primary.url("loadtest")
        os.environ["REDIS_URL"] = pages_url
        os.environ["LOADTEST_ORACLE_URL"] = oracle_url(oracle_redis, DEFAULT_ORACLE_DB)
        print(f"[fault] PostgreSQL primary on port {postgres.primary.port}; pages' Redis {pages_url} (PID {pages_pid})")
        summary = run_sync_under_faults(args, out, postgres.primary, pages_pid)
    failures = failed_checks(summary)
    summary["failures"] = failures
    text = fault_summary_markdown(summary)
    (out / "summary.md").write_text(text)
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    print(text)
    print(f"Report: {out}/summary.md, summary.json, logs/")
    return 1 if failures else 0


def run_sync_under_faults(args, out: Path, primary, pages_pid: int) -> dict:
    from loadtests.run import find_stuck_pages, read_locust_stats, run_locust, site_under_test

    oracle = Oracle.from_url(os.environ["LOADTEST_ORACLE_URL"])
    oracle.reset()
    with site_under_test("sync", args, {"REDIS_URL": os.environ["REDIS_URL"]}, out) as (servers, env):
        actions = [
            ("restart the database", restart_database(primary, args.db_down)),
            ("migrate a watched model", migrate_watched_model(env, out / "logs" / "sync-migrate.log")),
            (f"cut Redis for {args.redis_cut:g} s", cut_redis(pages_pid, args.redis_cut)),
        ]
        t0 = time.time()
        schedule = FaultSchedule(
            [(share * args.duration, name, action) for share, (name, action) in zip(AT_SHARES, actions, strict=True)],
            t0=t0,
            settle_s=SETTLE_S,
        )
        schedule.start()
        print(f"[sync ] {servers.host}; Locust: {args.users} users for {args.duration} s under faults", flush=True)
        try:
            returncode = run_locust("sync", args, servers.host, env, out, oracle)
        finally:
            schedule.stop()
        exited = [" ".join(p.args[1:4]) for p in servers.processes if p.poll() is not None]
        stuck = find_stuck_pages(oracle, servers.host)
        statuses = count_statuses(servers.access_logs)
        base = summarize(
            "sync",
            oracle.results(),
            read_locust_stats(out / "sync_stats.csv"),
            stuck,
            duration=args.duration,
            locust_returncode=returncode,
            failure_rows=read_locust_stats(out / "sync_failures.csv"),
            requests_per_app_server=servers.requests_per_server(),
        )
        return {
            "settings": {
                "duration": args.duration,
                "users": args.users,
                "writers": args.writers,
                "settle_s": SETTLE_S,
                "redis_cut_s": args.redis_cut,
                "db_down_s": args.db_down,
            },
            "windows": [window_as_json(w) for w in schedule.windows],
            "attribution": attribute_to_windows(oracle.fault_evidence(), schedule.windows, t0=t0),
            "http_statuses": dict(sorted(statuses.items())),
            "http_500": sum(n for status, n in statuses.items() if status >= 500 and status != 503),
            "http_503": statuses.get(503, 0),
            "stuck": stuck,
            "processes_exited": exited,
            "other_failures": other_failures(read_locust_stats(out / "sync_failures.csv")),
            "sync": base,
        }


def fault_summary_markdown(summary: dict) -> str:
    attribution = summary["attribution"]
    lines = [
        "# Load test under faults: mode sync",
        "",
        "Settings: " + ", ".join(f"{k}={v}" for k, v in summary["settings"].items()) + ".",
        "",
        "| fault | window (s since start) | reads | stale reads | 503s | error |",
        "|---|---|---|---|---|---|",
    ]
    for w in attribution["windows"]:
        span = f"{w['start_s']:.1f} - {w['end_s']:.1f} (+{w['settle_s']:g} settle: {w['until_s']:.1f})"
        cells = [w["fault"], span, w["reads"], w["stale_reads"], w["unavailable_503"], w["error"] or "-"]
        lines.append("| " + " | ".join(str(cell) for cell in cells) + " |")
    outside = attribution["outside"]
    sync = summary["sync"]
    lines += [
        f"| outside every window | | {outside['reads']} | **{outside['stale_reads']}** "
        f"| {outside['unavailable_503']} | |",
        "",
        f"- stale reads outside every window: **{outside['stale_reads']}** (must be 0)",
        f"- stuck pages after the run: **{summary['stuck']['stuck']}** of "
        f"{summary['stuck']['pages_checked']} (must be 0)",
        f"- HTTP 500s (every 5xx but 503, from the access logs): **{summary['http_500']}** (must be 0)",
        f"- HTTP 503s (database unavailable): {summary['http_503']}; statuses: {summary['http_statuses']}",
        f"- relays and gunicorns that exited: {', '.join(summary['processes_exited']) or 'none'}",
        "- other failed requests (neither stale nor 503): "
        + (
            "; ".join(f"{f['occurrences']} x {f['request']}: {f['error']}" for f in summary["other_failures"]) or "none"
        ),
        f"- reads {sync['reads']}, checked {sync['reads_checked']}, stale {sync['stale_reads']}, writes "
        f"{sync['writes']}, {sync['requests_per_s']:.0f} requests/s, cache hit ratio "
        f"{100 * (sync['cache_hit_ratio'] or 0):.1f} %",
        "",
        "A window runs from the fault's start to its end plus the settle margin; a read or stale read counts",
        "in the window its t_send falls in, a 503 in the one its answer arrived in. Logs: `logs/sync-*.log`",
        "(gunicorn and relay, migrate).",
        "",
        ("**FAILED**: " + "; ".join(summary["failures"])) if summary.get("failures") else "**PASSED**",
        "",
    ]
    return "\n".join(lines)
