"""Turn each mode's oracle counters and Locust CSV into summary.md, summary.json and the plot."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

from loadtests.staleness import (
    FRESH_BUCKETS_MS,
    fresh_bucket_labels,
    histogram_percentile,
    is_stale_failure,
    percentile,
)

BUCKET_TITLES = dict(
    zip(
        fresh_bucket_labels(),
        [f"≤{FRESH_BUCKETS_MS[0]} ms"]
        + [f"{a}-{b} ms" for a, b in itertools.pairwise(FRESH_BUCKETS_MS)]
        + [f">{FRESH_BUCKETS_MS[-1]} ms"],
        strict=True,
    )
)


READERS = ("anonymous", "signed-in")  # the kinds of reader the oracle counts apart


def _ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def summarize(
    mode: str,
    results: dict,
    locust_rows: list[dict],
    stuck: dict,
    *,
    duration: int,
    locust_returncode: int,
    failure_rows: list[dict] = (),
    requests_per_app_server: list[int] = (),
) -> dict:
    """`locust_rows` and `failure_rows`: Locust's <mode>_stats.csv and <mode>_failures.csv."""
    n = results["counts"]
    http_rows = [row for row in locust_rows if row.get("Type") in ("GET", "POST")]
    # A stale read is a failure of its request in Locust; the oracle counts it, here it is no HTTP failure.
    stale_failures = sum(int(row["Occurrences"]) for row in failure_rows if is_stale_failure(row.get("Error", "")))
    hits, misses = n.get("cache:hit", 0), n.get("cache:miss", 0)
    writes = n.get("writes", 0)
    # A write that no stale read ever showed older has a window of 0.
    windows = results["windows_ms"] + [0.0] * max(0, writes - len(results["windows_ms"]))
    fresh = results["fresh"]
    first = min(results["reads_per_second"], default=0)
    return {
        "mode": mode,
        "duration_s": duration,
        "requests_per_s": sum(float(row["Requests/s"]) for row in http_rows),
        # Answered by each app server over the run (its access log), per second of load.
        "requests_per_s_per_app_server": [count / duration for count in requests_per_app_server],
        "http_failures": sum(int(row["Failure Count"]) for row in http_rows) - stale_failures,
        "locust_returncode": locust_returncode,
        "read_latency_ms": {f"p{q}": histogram_percentile(results["latency_ms"], q / 100) for q in (50, 95, 99)},
        "cache_hit_ratio": _ratio(hits, hits + misses),
        "reads": n.get("reads", 0),
        "writes": writes,
        "writes_per_s": writes / duration if duration else 0.0,
        "reads_checked": n.get("checked", 0),
        # 404s of category pages past the last one (products moved away since the crawl): no failure, no read.
        "pages_gone": n.get("gone:category", 0),
        "stale_reads": n.get("stale", 0),
        "stale_ratio": _ratio(n.get("stale", 0), n.get("checked", 0)),
        "stale_reads_by_page": {
            kind: {"checked": n.get(f"checked:{kind}", 0), "stale": n.get(f"stale:{kind}", 0)}
            for kind in ("home", "category", "product", "profile")
        },
        "stale_reads_by_reader": {
            reader: {"checked": n.get(f"checked:reader:{reader}", 0), "stale": n.get(f"stale:reader:{reader}", 0)}
            for reader in READERS
        },
        "stale_age_ms": {
            "p50": histogram_percentile(results["age_ms"], 0.5),
            "p99": histogram_percentile(results["age_ms"], 0.99),
            "max": float(max(results["age_ms"], default=0)),
        },
        "staleness_window_ms": {
            "p50": percentile(windows, 0.5),
            "p99": percentile(windows, 0.99),
            "max": max(windows, default=0.0),
            "writes_seen_stale": len(results["windows_ms"]),
        },
        "fresh_share_after_write": {
            label: {
                "reads": fresh.get(f"{label}:total", 0),
                "fresh": _ratio(fresh.get(f"{label}:fresh", 0), fresh.get(f"{label}:total", 0)),
            }
            for label in fresh_bucket_labels()
        },
        "stuck": stuck,
        "timeline": {
            "reads": {second - first: count for second, count in sorted(results["reads_per_second"].items())},
            "stale": {second - first: count for second, count in sorted(results["stale_per_second"].items())},
        },
    }


def _pct(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{100 * value:.{digits}f} %"


def _ms(value: float) -> str:
    return f"{value:.0f}" if value >= 10 else f"{value:.1f}"


def summary_table(results: dict[str, dict]) -> str:
    modes = list(results)
    rows = [
        ("requests/s", lambda r: f"{r['requests_per_s']:.0f}"),
        ("requests/s per app server", lambda r: " / ".join(f"{v:.0f}" for v in r["requests_per_s_per_app_server"])),
        ("read latency p50 / p95 / p99 (ms)", lambda r: " / ".join(_ms(v) for v in r["read_latency_ms"].values())),
        ("cache hit ratio", lambda r: _pct(r["cache_hit_ratio"], 1)),
        ("reads / writes", lambda r: f"{r['reads']} / {r['writes']}"),
        ("writes/s", lambda r: f"{r.get('writes_per_s', 0):.1f}"),
        ("reads checked", lambda r: str(r["reads_checked"])),
        ("**stale reads**", lambda r: f"**{r['stale_reads']}**"),
        ("stale ratio (of checked)", lambda r: _pct(r["stale_ratio"], 3)),
        ("stale age p50 / p99 / max (ms)", lambda r: " / ".join(_ms(v) for v in r["stale_age_ms"].values())),
        (
            "staleness window p50 / p99 / max (ms)",
            lambda r: " / ".join(_ms(r["staleness_window_ms"][k]) for k in ("p50", "p99", "max")),
        ),
        ("writes ever seen stale", lambda r: str(r["staleness_window_ms"]["writes_seen_stale"])),
    ]
    for label in fresh_bucket_labels():
        rows.append((f"fresh, read {BUCKET_TITLES[label]} after a write", lambda r, k=label: _fresh(r, k)))
    rows += [
        ("stuck pages after the run", lambda r: f"{r['stuck']['stuck']} of {r['stuck']['pages_checked']}"),
        ("category pages gone (404 past the last, expected)", lambda r: str(r["pages_gone"])),
        ("HTTP failures", lambda r: str(r["http_failures"])),
    ]
    lines = ["| | " + " | ".join(f"`{m}`" for m in modes) + " |", "|---" * (len(modes) + 1) + "|"]
    lines += [f"| {title} | " + " | ".join(cell(results[m]) for m in modes) + " |" for title, cell in rows]
    return "\n".join(lines)


def _fresh(result: dict, label: str) -> str:
    bucket = result["fresh_share_after_write"][label]
    return f"{_pct(bucket['fresh'], 1)} ({bucket['reads']})" if bucket["reads"] else "-"


EXPLANATION = """
How to read it:
- A read is **checked** when its page shows at least one object that a writer changed and
  whose new version was acknowledged (the write's HTTP response had arrived) *before* the read
  was sent. It is **stale** when one of those objects shows a version below that acknowledged
  version. Reads that overlap a write not yet acknowledged never count.
- **Stale age**: for a stale read, `t_send - t_ack` of the first version newer than the one shown.
- **Staleness window** of a write: from its `t_ack` to the `t_send` of the last read that still
  showed an older version (0 for writes never seen stale), over all writes.
- **Fresh, read X after a write**: object checks bucketed by the time between the object's newest
  acknowledged write and the read's `t_send`; the share that showed the newest version (count in
  brackets).
- **Stuck pages**: after Locust stopped (no writes), every page showing a written object is read
  again; a page still older than the oracle's newest version is stuck until its TTL.
- **Category pages gone**: a category page past its last one answers 404 once writers moved
  products out of the category since the site map was crawled; readers expect it (no failure,
  not a read). Any other non-200 answer is an HTTP failure.
- `ttl` caches pages for the TTL with no invalidation; `naive` deletes keys in `post_save`, before
  commit, with no stale-set guard; `sync` is cache_sync (after commit, leases against stale sets).
"""


def writer_throughput(results: dict[str, dict]) -> list[str]:
    """The writers' throughput of `sync` against `naive` (what durable invalidation costs the writers)."""
    if not {"sync", "naive"} <= results.keys() or not results["naive"].get("writes_per_s"):
        return []
    sync, naive = results["sync"]["writes_per_s"], results["naive"]["writes_per_s"]
    return [f"Writers' throughput: `sync` {sync:.1f} writes/s, `naive` {naive:.1f} writes/s ({sync / naive:.2f}x).", ""]


def write_reports(results: dict[str, dict], settings: dict, out: Path) -> str:
    table = summary_table(results)
    by_page = ["| page | " + " | ".join(f"`{m}` stale / checked" for m in results) + " |"]
    by_page.append("|---" * (len(results) + 1) + "|")
    for kind in ("home", "category", "product", "profile"):
        cells = [
            f"{r['stale_reads_by_page'][kind]['stale']} / {r['stale_reads_by_page'][kind]['checked']}"
            for r in results.values()
        ]
        by_page.append(f"| {kind} | " + " | ".join(cells) + " |")
    by_reader = ["| reader | " + " | ".join(f"`{m}` stale / checked" for m in results) + " |"]
    by_reader.append("|---" * (len(results) + 1) + "|")
    for reader in READERS:
        cells = [
            f"{r['stale_reads_by_reader'][reader]['stale']} / {r['stale_reads_by_reader'][reader]['checked']}"
            for r in results.values()
        ]
        by_reader.append(f"| {reader} | " + " | ".join(cells) + " |")
    stuck_lines = [
        f"- `{mode}`: " + "; ".join(r["stuck"]["examples"][:3]) for mode, r in results.items() if r["stuck"]["examples"]
    ]
    shown = {
        k: settings[k]
        for k in (
            *("duration", "users", "writers", "ttl", "categories", "products", "profiles", "workers"),
            *("topology", "app_servers", "locust_workers"),
        )
        if k in settings
    }
    text = "\n".join(
        [
            "# Load test: stale reads per cache mode",
            "",
            "Settings: " + ", ".join(f"{k}={v}" for k, v in shown.items()) + ".",
            "",
            table,
            "",
            *writer_throughput(results),
            "Stale reads by page kind:",
            "",
            *by_page,
            "",
            "Stale reads by kind of reader (a signed-in reader is served the shared copy, its nav filled):",
            "",
            *by_reader,
            "",
            *(["Stuck pages (examples):", "", *stuck_lines, ""] if stuck_lines else []),
            EXPLANATION.strip(),
            "",
            "Plot: `stale_reads.png`; Locust's reports: `<mode>.html`, `<mode>_failures.csv` (the `STALE: ...` rows).",
            "",
        ]
    )
    (out / "summary.md").write_text(text)
    (out / "summary.json").write_text(json.dumps({"settings": shown, "modes": results}, indent=2, default=str))
    plot(results, out / "stale_reads.png")
    return table


def plot(results: dict[str, dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(results), figsize=(5 * len(results), 3.6), sharey=True, squeeze=False)
    for ax, (mode, result) in zip(axes[0], results.items(), strict=True):
        timeline = result["timeline"]
        seconds = sorted(timeline["reads"])
        stale = [timeline["stale"].get(s, 0) for s in seconds]
        ax.bar(seconds, stale, width=1.0, color="#c0392b", label="stale reads/s")
        ratio = result["stale_ratio"]
        ax.set_title(f"{mode}: {result['stale_reads']} stale of {result['reads_checked']} checked ({_pct(ratio, 2)})")
        ax.set_xlabel("seconds since start")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("stale reads per second")
    fig.suptitle("Stale reads over time, same load per mode")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
