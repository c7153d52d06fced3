"""What the load test watches besides the oracle: the freshness monitor and the site's /metrics.

During each mode's run, `cache_sync freshness` samples cached pages (its own
process, against the mode's database and Redis) and a thread scrapes `/metrics`
once a second. The report puts the monitor's "fresh within X ms" next to the
oracle's figure for the same X, and plots the scraped series (the ones the
Grafana dashboard in dashboards/ shows) in metrics.png.

Oracle and monitor measure different populations: the oracle checks reads of
objects writers changed, the monitor samples every cached page variant. They
agree when the monitor's stale count is what the oracle's rate predicts for its
sample (within three standard deviations of a binomial, plus one).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import math
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from loadtests.topology import stop

ROOT = Path(__file__).resolve().parent.parent
SCRAPED = {
    "cache_sync_hits_total": "hits/s",
    "cache_sync_misses_total": "misses/s",
    "cache_sync_invalidated_keys_total": "invalidated keys/s",
    "cache_sync_stale_fills_refused_total": "stale fills refused/s",
    "cache_sync_lease_waits_total": "lease waits/s",
    "cache_sync_outbox_backlog": "outbox backlog",
    "cache_sync_freshness_nines": "freshness (nines)",
}


def scrape(url: str) -> dict[str, float]:
    with urllib.request.urlopen(url, timeout=5) as response:
        text = response.read().decode()
    values: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name in SCRAPED:
                values[sample.name] = values.get(sample.name, 0.0) + sample.value
    return values


class Watch:
    def __init__(self, host: str, env: dict[str, str], logs: Path, mode: str, within_ms: float) -> None:
        self.host, self.env, self.mode, self.within_ms = host, env, mode, within_ms
        self.freshness_path = logs / f"{mode}-freshness.json"
        self.log = logs / f"{mode}-freshness.log"
        self.series: list[tuple[float, dict[str, float]]] = []
        self.scrape_errors = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._scrape_every_second, daemon=True)
        self._monitor: subprocess.Popen | None = None

    def start(self) -> None:
        self.freshness_path.unlink(missing_ok=True)
        command = [sys.executable, "manage.py", "cache_sync", "freshness", "--rounds", "0", "--interval", "0.5"]
        command += ["--sample", "50", "--within-ms", str(self.within_ms), "--seed", "1"]
        command += ["--json-out", str(self.freshness_path)]
        with self.log.open("w") as log:
            self._monitor = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        stop(self._monitor)  # SIGTERM: it ends its round and writes its total

    def _scrape_every_second(self) -> None:
        start = time.monotonic()
        while not self._stop.wait(1.0):
            try:
                self.series.append((time.monotonic() - start, scrape(f"{self.host}/metrics")))
            except OSError:
                self.scrape_errors += 1

    def freshness(self) -> dict | None:
        with contextlib.suppress(OSError, ValueError):
            return json.loads(self.freshness_path.read_text())
        return None


@contextlib.contextmanager
def watching(host: str, env: dict[str, str], out: Path, mode: str, within_ms: float) -> Iterator[Watch]:
    watch = Watch(host, env, out / "logs", mode, within_ms)
    watch.start()
    try:
        yield watch
    finally:
        watch.stop()


def oracle_freshness(results: dict, within_ms: float) -> dict:
    """The oracle's share of checked reads not stale by more than `within_ms` (its stale-age histogram)."""
    checked = results["counts"].get("checked", 0)
    beyond = sum(n for age, n in results["age_ms"].items() if age > within_ms)
    return figures(checked, beyond, within_ms)


def figures(sampled: int, stale: int, within_ms: float) -> dict:
    ratio = 1 - stale / sampled if sampled else 1.0
    nines = (math.log10(sampled) if not stale else -math.log10(stale / sampled)) if sampled else 0.0
    return {"within_ms": within_ms, "sampled": sampled, "stale": stale, "ratio": ratio, "nines": nines}


def agree(monitor: dict, oracle: dict) -> bool:
    n, rate = monitor["sampled"], 1 - oracle["ratio"]
    expected = n * rate
    return abs(monitor["stale"] - expected) <= 3 * math.sqrt(n * rate * (1 - rate)) + 1


def summarize_watch(watch: Watch, oracle_results: dict) -> dict:
    monitor = watch.freshness()
    oracle = oracle_freshness(oracle_results, watch.within_ms)
    return {
        "freshness": {
            "monitor": monitor,
            "oracle": oracle,
            "agree": agree(monitor, oracle) if monitor else None,
        },
        "metrics_series": [[t, values] for t, values in watch.series],
        "metrics_scrape_errors": watch.scrape_errors,
    }


def _pct(ratio: float) -> str:
    return f"{100 * ratio:.3f} %"


def freshness_table(results: dict[str, dict]) -> str:
    titles = ["mode", "X (ms)", "monitor: fresh / sampled", "monitor nines", "oracle: fresh / checked", "oracle nines"]
    lines = ["| " + " | ".join([*titles, "agree"]) + " |"]
    lines.append("|---|---|---|---|---|---|---|")
    for mode, result in results.items():
        found = result.get("freshness")
        if not found:
            continue
        monitor, oracle = found["monitor"] or {}, found["oracle"]
        cells = [
            mode,
            f"{oracle['within_ms']:g}",
            f"{monitor.get('sampled', 0) - monitor.get('stale', 0)} / {monitor.get('sampled', 0)}",
            f"{monitor.get('nines', 0):.2f}" + (" (≥)" if monitor and not monitor.get("stale") else ""),
            f"{oracle['sampled'] - oracle['stale']} / {oracle['sampled']}",
            f"{oracle['nines']:.2f}" + (" (≥)" if not oracle["stale"] else ""),
            _agreement(mode, found["agree"]),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _agreement(mode: str, agreed: bool | None) -> str:
    if agreed is None:
        return "monitor did not report"
    if mode != "sync":
        return "yes" if agreed else "no (a baseline: see below)"
    return "yes" if agreed else "**NO**"


def append_report(results: dict[str, dict], out: Path) -> str:
    table = freshness_table(results)
    text = "\n".join(
        [
            "",
            "## Freshness monitor next to the oracle",
            "",
            table,
            "",
            "(≥): no stale sample, so the nines are the sample's resolution, log10(n), a lower bound. The monitor",
            "samples every cached page variant; the oracle checks reads of the objects writers changed. They agree",
            "when the monitor's stale count is within 3 standard deviations (+1) of what the oracle's rate predicts.",
            "They must agree in `sync`, where both should find nothing stale beyond X. In the baselines the",
            "populations differ (the monitor's sample holds pages no writer touched), so the figures differ too.",
            "",
            "cache_sync's metrics scraped from /metrics every second: `metrics.png` (the dashboard's series).",
            "",
        ]
    )
    with (out / "summary.md").open("a") as summary:
        summary.write(text)
    plot_metrics(results, out / "metrics.png")
    return table


def rates(series: list, name: str) -> tuple[list[float], list[float]]:
    times, values = [], []
    for (t0, a), (t1, b) in itertools.pairwise(series):
        if name in a and name in b and t1 > t0:
            times.append(t1)
            values.append(max(0.0, (b[name] - a[name]) / (t1 - t0)))
    return times, values


def plot_metrics(results: dict[str, dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    modes = [mode for mode, result in results.items() if result.get("metrics_series")]
    if not modes:
        return
    fig, axes = plt.subplots(2, len(modes), figsize=(max(8, 5 * len(modes)), 6), squeeze=False, sharex="col")
    for column, mode in enumerate(modes):
        series = results[mode]["metrics_series"]
        top, bottom = axes[0][column], axes[1][column]
        for name, label in SCRAPED.items():
            if name.endswith("_total"):
                times, values = rates(series, name)
                top.plot(times, values, label=label)
        top.set_title(f"{mode}: cache_sync counters (rate per second)")
        top.set_yscale("symlog")
        top.grid(alpha=0.3)
        times = [t for t, values in series if "cache_sync_outbox_backlog" in values]
        bottom.plot(times, [v["cache_sync_outbox_backlog"] for _t, v in series if "cache_sync_outbox_backlog" in v])
        nines = [(t, v["cache_sync_freshness_nines"]) for t, v in series if "cache_sync_freshness_nines" in v]
        if nines:
            right = bottom.twinx()
            right.plot([t for t, _n in nines], [n for _t, n in nines], color="#27ae60")
            right.set_ylabel("freshness (nines)", color="#27ae60")
        bottom.set_title(f"{mode}: outbox backlog (entries), freshness nines")
        bottom.set_xlabel("seconds since start")
        bottom.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7, loc="upper left")
    fig.suptitle("cache_sync's /metrics during the load test (the Grafana dashboard's series)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
