"""When is a read stale, and by how much: the load test's definitions, free of Redis and Locust."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

# Reads are bucketed by the time since the object's newest acknowledged write.
FRESH_BUCKETS_MS = (1, 5, 20, 100, 1000)


@dataclass(frozen=True)
class Lag:
    """An object shown at version `seen` although `v_min` was acknowledged before the read."""

    obj: str
    seen: int
    v_min: int

    @property
    def versions_behind(self) -> int:
        return self.v_min - self.seen


def find_lags(shown: dict[str, int], v_min: dict[str, int]) -> list[Lag]:
    return [Lag(obj, seen, v_min[obj]) for obj, seen in shown.items() if obj in v_min and seen < v_min[obj]]


def first_newer_ack(history: Iterable[tuple[int, float]], lag: Lag, t_send: float) -> float | None:
    """When the page became stale: the earliest acknowledgement of a version in (seen, v_min].

    Acknowledgements can arrive out of version order; only those before `t_send` count.
    """
    acks = [t for version, t in history if lag.seen < version <= lag.v_min and t <= t_send]
    return min(acks) if acks else None


def fresh_bucket(delay_ms: float) -> str:
    for bound in FRESH_BUCKETS_MS:
        if delay_ms <= bound:
            return f"le{bound}"
    return f"gt{FRESH_BUCKETS_MS[-1]}"


def fresh_bucket_labels() -> list[str]:
    return [f"le{bound}" for bound in FRESH_BUCKETS_MS] + [f"gt{FRESH_BUCKETS_MS[-1]}"]


def latency_bucket(ms: float) -> int:
    """Locust's rounding: exact below 100 ms, then 2 significant digits."""
    if ms < 100:
        return round(ms)
    if ms < 1000:
        return round(ms, -1)
    return round(ms, -2)


def histogram_percentile(histogram: dict[int, int], q: float) -> float:
    total = sum(histogram.values())
    if not total:
        return 0.0
    rank = q * total
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen >= rank:
            return float(value)
    return float(max(histogram))


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return float(ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))])


@dataclass(frozen=True)
class Expected:
    """What the oracle knew about a page's objects before the read was sent."""

    v_min: dict[str, int] = field(default_factory=dict)
    last_ack: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class ReadOutcome:
    checked: int  # objects on the page that the oracle knows
    lags: tuple[Lag, ...] = ()
    age_ms: float = 0.0  # t_send - first newer acknowledgement, the oldest over the page

    @property
    def stale(self) -> bool:
        return bool(self.lags)

    @property
    def versions_behind(self) -> int:
        return max((lag.versions_behind for lag in self.lags), default=0)


STALE_FAILURE = "STALE"


def stale_failure_message(age_ms: float) -> str:
    """What a stale read fails with in Locust: its age, bucketed so that the failures table stays short."""
    lower = 0
    for bound in FRESH_BUCKETS_MS:
        if age_ms <= bound:
            return f"{STALE_FAILURE}: page {lower}-{bound} ms behind an acknowledged write"
        lower = bound
    return f"{STALE_FAILURE}: page >{lower} ms behind an acknowledged write"


def is_stale_failure(error: str) -> bool:
    """Locust's failure rows hold the error's repr, e.g. "CatchResponseError('STALE: ...')"."""
    return f"{STALE_FAILURE}:" in error
