"""Invalidation batches and hits on a single Redis, a 3-master cluster and behind Sentinel (`make bench`).

Each topology is started here; the same batches run on each in interleaved rounds,
and the medians are reported as ratios to the single Redis of the same run. Also
measured, on the Sentinel group: the same batch followed by `WAIT 1` (one replica
acknowledges), the cost of the failover safeguard cache_sync does *not* need,
since a promoted replica drops every page of the dead master's run.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import django
from django.conf import settings

from tools.harness.redis_servers import RedisServer
from tools.harness.redis_topologies import Cluster, SentinelGroup

ROOT = Path(__file__).resolve().parent.parent
BATCHES = (1, 10, 100)  # keys per invalidation batch


def caches_for(single: RedisServer, cluster: Cluster, group: SentinelGroup) -> dict:
    options = {"SOCKET_TIMEOUT": 1.0, "SOCKET_CONNECT_TIMEOUT": 1.0}
    backend = "django_redis.cache.RedisCache"
    return {
        "default": {"BACKEND": backend, "LOCATION": single.url, "OPTIONS": options},
        "cluster": {
            "BACKEND": backend,
            "LOCATION": cluster.url,
            "OPTIONS": {**options, "CLIENT_CLASS": "cache_sync.cluster.ClusterClient"},
        },
        "sentinel": {
            "BACKEND": backend,
            "LOCATION": f"redis://{group.service}/0",
            "OPTIONS": {
                **options,
                "CLIENT_CLASS": "django_redis.client.SentinelClient",
                "CONNECTION_FACTORY": "django_redis.pool.SentinelConnectionFactory",
                "SENTINELS": group.sentinels,
            },
        },
    }


def timed(function, repeat: int) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        function()
    return (time.perf_counter() - start) / repeat


def measure(rounds: int, repeat: int) -> list[dict]:
    from cache_sync.store.page_store import get_store

    stores = {alias: get_store(alias) for alias in ("default", "cluster", "sentinel")}
    cases = {}
    for size in BATCHES:
        keys = [f"product:bench-{n}" for n in range(size)]
        for alias, store in stores.items():
            cases[(f"invalidate {size} key(s)", alias)] = lambda store=store, keys=keys: store.invalidate(keys)
        sentinel = stores["sentinel"]
        cases[(f"invalidate {size} key(s)", "sentinel + WAIT 1")] = lambda store=sentinel, keys=keys: (
            store.invalidate(keys),
            store.client.wait(1, 1000),
        )
    page = b"x" * 20_000
    for alias, store in stores.items():
        token = store.read("product:hit", "v", guarded=True, lease_ms=5000).token
        store.store("product:hit", "v", page, token=token, ttl_ms=600_000)
        cases[("hit (20 KB page)", alias)] = lambda store=store: store.read(
            "product:hit", "v", guarded=True, lease_ms=5000
        )
    times: dict[tuple[str, str], list[float]] = {case: [] for case in cases}
    order = list(cases)
    for _ in range(rounds):
        random.shuffle(order)  # no case always runs first, or after the same one
        for case in order:
            times[case].append(timed(cases[case], repeat))
    rows = []
    for (operation, topology), samples in times.items():
        single = statistics.median(times[(operation, "default")])
        median = statistics.median(samples)
        rows.append({"operation": operation, "topology": topology, "us": median * 1e6, "vs_single": median / single})
    return rows


def format_report(rows: list[dict], args) -> str:
    lines = [
        "# cache_sync on Redis topologies",
        "",
        f"{args.rounds} interleaved rounds of {args.repeat} calls per case; medians; "
        "ratios to the single Redis of the same run.",
        "",
        "| operation | topology | µs per call | vs single Redis |",
        "| --- | --- | ---: | ---: |",
    ]
    for row in rows:
        topology = "single Redis" if row["topology"] == "default" else row["topology"]
        lines.append(f"| {row['operation']} | {topology} | {row['us']:.0f} | {row['vs_single']:.2f}x |")
    return "\n".join([*lines, ""])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-topologies-") as tmp:
        single = RedisServer(Path(tmp))
        single.start()
        try:
            with Cluster(Path(tmp) / "cluster") as cluster, SentinelGroup(Path(tmp) / "sentinel") as group:
                settings.configure(
                    INSTALLED_APPS=["cache_sync"],
                    CACHES=caches_for(single, cluster, group),
                    DATABASES={},
                )
                django.setup()
                rows = measure(args.rounds, args.repeat)
        finally:
            single.kill()
    report = format_report(rows, args)
    print(report)
    (ROOT / "benchmarks" / "results").mkdir(exist_ok=True)
    (ROOT / "benchmarks" / "results" / "topologies.md").write_text(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
