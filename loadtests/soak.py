"""A soak: a million checked reads of `sync` within 30 minutes, and its stale reads per million (make soak).

    python -m loadtests.soak                                  # 1,000,000 checked reads, at most 30 minutes
    python -m loadtests.soak --reads 50000 --minutes 3        # a short one
    python -m loadtests.soak --modes ttl,sync --reads 5000    # the oracle must catch ttl's stale reads

The load test's site (loadtests/run.py's `site_under_test`: a fresh database,
seeded, gunicorn and a relay) and its definition of a stale read, with a lighter
reader: processes of bare-socket clients that check each page in memory against
the writers' acknowledgements (soak_reader.py, soak_oracle.py), while the load
test's writer mix runs as threads (soak_writers.py). The run stops at `--reads`
checked reads or after `--minutes`, whichever comes first; then, writes
stopped, every page of the site is read once more (stuck pages). Writes
loadtests/report/soak/summary.md and summary.json, next to the load test's
summary; exits 1 if `sync` served a stale read or a stuck page, or checked none.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import signal
import sys
import time
import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from loadtests.run import MODES, ROOT, parse_args, site_under_test
from loadtests.site_pages import SiteMap, crawl
from loadtests.soak_cpu import CpuMeter
from loadtests.soak_http import Client, split_host
from loadtests.soak_oracle import AckBook, AckFeed
from loadtests.soak_reader import Tally, read_pages, url_of
from loadtests.soak_summary import soak_summary, soak_table
from loadtests.soak_writers import Writers
from loadtests.staleness import find_lags
from loadtests.topology import pages_redis
from silk_core.data_version import parse_data_version
from tools.stack import ensure_redis


def parse_soak_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=1_000_000, help="checked reads to reach (1,000,000)")
    parser.add_argument("--minutes", type=float, default=30, help="the longest the reads may take (30)")
    parser.add_argument("--modes", default="sync", help="comma-separated, of ttl,naive,sync (sync)")
    parser.add_argument("--readers", type=int, default=4, help="reader processes, one read at a time each (4)")
    parser.add_argument("--writers", type=int, default=5, help="writer threads, as the load test's 24 users (5)")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers (3)")
    parser.add_argument("--out", default=str(ROOT / "loadtests" / "report" / "soak"))
    soak = parser.parse_args(argv)
    soak.modes = [m.strip() for m in soak.modes.split(",") if m.strip()]
    if unknown := set(soak.modes) - set(MODES):
        parser.error(f"unknown modes {sorted(unknown)}; use {', '.join(MODES)}")
    if soak.readers < 1 or soak.writers < 1:
        parser.error("--readers and --writers must be at least 1")
    return soak


def soak_mode(mode: str, soak: argparse.Namespace, pages_env: dict[str, str], out: Path) -> dict:
    site_args = parse_args(["--modes", mode, "--workers", str(soak.workers), "--out", str(out)])
    with site_under_test(mode, site_args, pages_env, out) as (servers, env):
        host, port = split_host(servers.host)
        site = crawl(servers.host)
        print(f"[{mode:5}] {servers.host}: {soak.readers} readers, {soak.writers} writers, "
              f"until {soak.reads:,} checked reads or {soak.minutes:g} min", flush=True)  # fmt: skip
        feed = AckFeed(soak.readers)
        load_before = os.getloadavg()[0]
        meter = CpuMeter(servers.processes[0].pid, servers.processes[1].pid)  # gunicorn, then its relay
        tally, writes, write_failures, seconds = run_load(mode, soak, host, port, env["STAFF_API_TOKEN"], site, feed)
        cpu_s = {"readers": round(tally.cpu_s, 2), **meter.used()}
        load_after = os.getloadavg()[0]
        stuck = find_stuck_pages(Client(host, port), site, feed.book)
        redis_errors = redis_errors_met(servers.host)
        print(f"[{mode:5}] stuck pages: {stuck['stuck']} of {stuck['pages_checked']}", flush=True)
    return soak_summary(
        mode, soak, tally, writes=writes, write_failures=write_failures, seconds=seconds, stuck=stuck,
        load_average=(load_before, load_after), cpu_s=cpu_s, redis_errors=redis_errors,
    )  # fmt: skip


def run_load(mode: str, soak, host: str, port: int, token: str, site: SiteMap, feed: AckFeed):
    """Readers (forked before any thread starts) and writers, until the goal or the time is reached."""
    context = multiprocessing.get_context("fork")  # the children inherit the pipes' ends
    stop = context.Event()
    progress = context.RawArray("q", 3 * soak.readers)
    channels = [context.Pipe(duplex=False) for _ in range(soak.readers)]
    readers = [
        context.Process(
            target=read_pages,
            args=(n, host, port, site.to_json(), feed.reader_end(n), stop, progress, channels[n][1]),
            daemon=True,
        )
        for n in range(soak.readers)
    ]
    for reader in readers:
        reader.start()
    writers = Writers(soak.writers, host, port, token, site, feed)
    writers.start()
    started = time.monotonic()
    next_report = started + 10
    try:
        while time.monotonic() - started < soak.minutes * 60:
            time.sleep(0.5)
            reads, checked, stale = (sum(progress[k::3]) for k in range(3))
            elapsed = time.monotonic() - started
            if time.monotonic() >= next_report or checked >= soak.reads:
                next_report += 10
                print(f"[{mode:5}] {elapsed:6.0f} s  reads {reads:9,}  checked {checked:9,}  stale {stale:6,}"
                      f"  writes {writers.writes:7,}  {reads / elapsed:5.0f} reads/s", flush=True)  # fmt: skip
            if checked >= soak.reads:
                break
    finally:
        stop.set()
        tally, lost = Tally(), []
        for _receive, send in channels:
            send.close()
        for (receive, _send), reader in zip(channels, readers, strict=True):
            if receive.poll(60):
                tally.merge(receive.recv())
            else:
                lost.append(f"{reader.name} (exit code {reader.exitcode})")
            reader.join(timeout=10)
        seconds = time.monotonic() - started
        writers.stop()  # after the readers: writes go on for as long as anyone reads
        feed.close_writing()
    if lost:  # its reads would be missing from the figures
        raise RuntimeError(f"reader processes sent no tally: {', '.join(lost)}")
    return tally, writers.writes, dict(writers.failures), seconds


def find_stuck_pages(client: Client, site: SiteMap, book: AckBook) -> dict:
    """With writes stopped: every page of the site read once more and compared with the newest acknowledgements."""
    pages = [page for key in site_keys(site) for page in site.pages_of_key(key)]
    checked, stuck = 0, []
    for page in pages:
        answer = client.get(url_of(page))
        if answer.status != 200:
            continue  # a category page gone: products moved out
        checked += 1
        if lags := find_lags(parse_data_version(answer.headers.get("x-data-version", "")), book.newest):
            lag = max(lags, key=lambda item: item.versions_behind)
            stuck.append(f"{page.url} ({answer.headers.get('x-cache')}): {lag.obj} v{lag.seen} < v{lag.v_min}")
    return {"pages_checked": checked, "stuck": len(stuck), "examples": stuck[:10]}


def redis_errors_met(host: str) -> float | None:
    """`cache_sync_redis_errors_total` from the site's /metrics: each one skips Redis in its process for a moment,
    leaving that process's invalidations to the relay (cache_sync's README: the relay's window)."""
    try:
        with urllib.request.urlopen(f"{host}/metrics", timeout=10) as response:
            text = response.read().decode()
    except OSError:
        return None
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "cache_sync_redis_errors_total"
    )


def site_keys(site: SiteMap) -> list[str]:
    return [
        "home",
        *(f"category:{slug}" for slug in site.category_slugs),
        *(f"product:{slug}" for slug in site.products),
        *(f"profile:{name}" for name in site.usernames),
    ]


def main(argv: list[str] | None = None) -> int:
    soak = parse_soak_args(argv)
    # A SIGTERM unwinds like Ctrl-C: readers, writers, gunicorn and its relay are stopped on the way out.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    out = Path(soak.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    summaries = {}
    with ensure_redis() as redis_url:
        os.environ["REDIS_URL"] = redis_url
        with pages_redis("single", redis_url) as pages_env:
            for mode in soak.modes:
                summaries[mode] = soak_mode(mode, soak, pages_env, out)
    table = soak_table(summaries)
    (out / "summary.json").write_text(json.dumps(summaries, indent=2))
    (out / "summary.md").write_text(f"# Soak: stale reads per million\n\n{table}\n")
    print(table)
    print(f"Report: {out}/summary.md, summary.json")
    sync = summaries.get("sync")
    failed = sync is not None and (sync["stale_reads"] or sync["stuck"]["stuck"] or not sync["reads_checked"])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
