"""The soak's figures: stale reads per million, and what they rest on (summary.json, summary.md)."""

from __future__ import annotations

import argparse

from loadtests.soak_reader import Tally
from loadtests.staleness import histogram_percentile, is_stale_failure, percentile

PER_MILLION = 1_000_000
# With 0 events in n trials, the rate is below 3/n at 95 % confidence (the rule of three).
RULE_OF_THREE = 3


def soak_summary(
    mode: str,
    soak: argparse.Namespace,
    tally: Tally,
    *,
    writes: int,
    write_failures: dict[str, int],
    seconds: float,
    stuck: dict,
    load_average: tuple[float, float],
    cpu_s: dict[str, float],
    redis_errors: float | None = None,
) -> dict:
    checked, stale = tally.checked, tally.stale
    http_failures = {message: n for message, n in tally.failures.items() if not is_stale_failure(message)}
    hits = tally.cache.get("hit", 0)
    windows = sorted(tally.windows_ms.values())
    return {
        "mode": mode,
        "goal": {"checked_reads": soak.reads, "minutes": soak.minutes},
        "reached": checked >= soak.reads,
        "readers": soak.readers,
        "writers": soak.writers,
        "gunicorn_workers": soak.workers,
        "seconds": round(seconds, 1),
        "reads": tally.reads,
        "reads_checked": checked,
        "category_pages_gone": tally.gone,
        "writes": writes,
        "stale_reads": stale,
        "stale_per_million_checked": PER_MILLION * stale / checked if checked else None,
        "stale_per_million_checked_95_upper": PER_MILLION * RULE_OF_THREE / checked if checked and not stale else None,
        "reads_per_s": tally.reads / seconds if seconds else 0.0,
        "checked_per_s": checked / seconds if seconds else 0.0,
        "writes_per_s": writes / seconds if seconds else 0.0,
        "minutes_for_goal_at_this_rate": soak.reads / (checked / seconds) / 60 if checked and seconds else None,
        "hit_ratio": hits / tally.reads if tally.reads else 0.0,
        "latency_ms": {q: histogram_percentile(dict(tally.latency_ms), q / 100) for q in (50, 95, 99)},
        "stale_age_ms": {q: histogram_percentile(dict(tally.age_ms), q / 100) for q in (50, 99, 100)},
        "writes_seen_stale": len(windows),
        "window_ms_of_writes_seen_stale": {q: percentile(windows, q / 100) for q in (50, 99, 100)},
        "stale_examples": tally.stale_examples,
        "stuck": stuck,
        "http_failures": sum(http_failures.values()),
        "http_failure_messages": http_failures,
        "write_failures": write_failures,
        "site_redis_errors": redis_errors,  # cache_sync_redis_errors_total at the end (None: /metrics did not answer)
        "load_average_1min": {"start": load_average[0], "end": load_average[1]},
        # Where the time goes: CPU per read of each side ("runner" is the writers' threads and the progress loop).
        "cpu_s": cpu_s,
        "cpu_ms_per_read": {name: 1000 * s / tally.reads if tally.reads else None for name, s in cpu_s.items()},
    }


def _per_million(summary: dict) -> str:
    if summary["stale_per_million_checked"] is None:
        return "n/a (no checked read)"
    if summary["stale_reads"]:
        return f"{summary['stale_per_million_checked']:,.1f}"
    return f"0 (below {summary['stale_per_million_checked_95_upper']:,.2f} at 95 %)"


def soak_table(summaries: dict[str, dict]) -> str:
    rows = [
        ("goal", lambda s: f"{s['goal']['checked_reads']:,} checked reads in {s['goal']['minutes']:g} min"),
        ("reached", lambda s: "yes" if s["reached"] else "**no**"),
        ("readers / writers / gunicorn workers", _processes),
        ("reads / checked / writes", lambda s: f"{s['reads']:,} / {s['reads_checked']:,} / {s['writes']:,}"),
        ("seconds; checked reads/s; writes/s", _rates),
        ("minutes a goal's worth takes at this rate", lambda s: _minutes(s["minutes_for_goal_at_this_rate"])),
        ("cache hit ratio", lambda s: f"{s['hit_ratio']:.0%}"),
        ("read latency p50 / p99 (ms)", lambda s: f"{s['latency_ms'][50]:g} / {s['latency_ms'][99]:g}"),
        ("**stale reads**", lambda s: f"**{s['stale_reads']:,}**"),
        ("**stale per million checked reads**", lambda s: f"**{_per_million(s)}**"),
        ("stale reads' age p50 / max (ms)", lambda s: f"{s['stale_age_ms'][50]:g} / {s['stale_age_ms'][100]:g}"),
        ("stuck pages after the run", lambda s: f"{s['stuck']['stuck']} of {s['stuck']['pages_checked']}"),
        ("HTTP failures (reads / writes)", lambda s: f"{s['http_failures']} / {sum(s['write_failures'].values())}"),
        ("Redis errors the site met (its /metrics)", lambda s: _count(s.get("site_redis_errors"))),
        ("CPU ms per read: readers / site's workers / relay / writers", _cpu),
        ("load average, start / end", lambda s: "{start:.1f} / {end:.1f}".format(**s["load_average_1min"])),
    ]
    modes = list(summaries)
    lines = ["| | " + " | ".join(f"`{mode}`" for mode in modes) + " |", "|---|" + "---|" * len(modes)]
    lines += [f"| {title} | " + " | ".join(cell(summaries[m]) for m in modes) + " |" for title, cell in rows]
    return "\n".join(lines)


def _count(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f}"


def _cpu(s: dict) -> str:
    per_read = s["cpu_ms_per_read"]
    names = ("readers", "gunicorn_workers", "relay", "runner")
    return " / ".join("n/a" if per_read.get(name) is None else f"{per_read[name]:.2f}" for name in names)


def _processes(s: dict) -> str:
    return f"{s['readers']} / {s['writers']} / {s['gunicorn_workers']}"


def _rates(s: dict) -> str:
    return f"{s['seconds']:,.0f}; {s['checked_per_s']:,.0f}; {s['writes_per_s']:.1f}"


def _minutes(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.1f}"
