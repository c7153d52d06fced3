"""A fault run's windows, and what falls in them: reads and stale reads by t_send, 503s by their answer.

A window runs from the moment a fault begins to the moment it ended plus a settle margin (the
time the site needs to be whole again: the relay's reconnection back-off and one delivery). A
stale read or a 503 inside a window is the fault's, reported with it; one outside every window
is a defect of the site, and so are HTTP 500s and pages stuck after the run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class FaultWindow:
    name: str
    start: float  # seconds since the epoch, as the readers' t_send
    end: float  # when the fault itself was over (the server answering again, migrate returned, Redis resumed)
    settle_s: float
    error: str | None = None  # the fault could not be applied (its window still counts)

    @property
    def until(self) -> float:
        return self.end + self.settle_s

    def holds(self, t: float) -> bool:
        return self.start <= t <= self.until


def window_of(t: float, windows: Iterable[FaultWindow]) -> FaultWindow | None:
    """The first window holding `t`, or None."""
    return next((window for window in windows if window.holds(t)), None)


def attribute_to_windows(evidence: Mapping, windows: list[FaultWindow], *, t0: float) -> dict:
    """Per window: its span (seconds since `t0`), reads, stale reads and 503s inside it; and what
    fell outside every window. `evidence` is Oracle.fault_evidence(): t_send of each stale read,
    reads per tenth of a second (a tenth counts in the window its start falls in) and the time
    each 503 arrived."""
    per_fault = [
        {
            "fault": window.name,
            "start_s": round(window.start - t0, 2),
            "end_s": round(window.end - t0, 2),
            "until_s": round(window.until - t0, 2),
            "settle_s": window.settle_s,
            "error": window.error,
            "reads": 0,
            "stale_reads": 0,
            "unavailable_503": 0,
        }
        for window in windows
    ]
    outside = {"reads": 0, "stale_reads": 0, "unavailable_503": 0}

    def count(t: float, field: str, n: int = 1) -> None:
        window = window_of(t, windows)
        target = outside if window is None else per_fault[windows.index(window)]
        target[field] += n

    for tenth, n in evidence.get("reads_per_tenth", {}).items():
        count(float(tenth), "reads", n)
    for t in evidence.get("stale_at", []):
        count(t, "stale_reads")
    for t in evidence.get("unavailable_at", []):
        count(t, "unavailable_503")
    return {"windows": per_fault, "outside": outside}


def failed_checks(summary: Mapping) -> list[str]:
    """What makes a fault run fail: stale reads outside every window, stuck pages, HTTP 500s, any
    other failed request (a connection error, a page without its headers), a relay or gunicorn that
    exited under the faults, a fault that could not be applied."""
    failures = []
    if n := summary["attribution"]["outside"]["stale_reads"]:
        failures.append(f"{n} stale reads outside every fault window")
    if n := summary["stuck"]["stuck"]:
        failures.append(f"{n} pages stuck after the run")
    if n := summary["http_500"]:
        failures.append(f"{n} HTTP 500 answers")
    if n := sum(row["occurrences"] for row in summary.get("other_failures", [])):
        failures.append(f"{n} other request failures (neither a stale read nor a 503)")
    if exited := summary.get("processes_exited"):
        failures.append(f"exited during the run: {', '.join(exited)}")
    if errors := [w["fault"] for w in summary["attribution"]["windows"] if w["error"]]:
        failures.append(f"faults not applied: {', '.join(errors)}")
    return failures


def window_as_json(window: FaultWindow) -> dict:
    return {**asdict(window), "until": window.until}


def other_failures(failure_rows: Iterable[Mapping[str, str]]) -> list[dict]:
    """Locust's failure rows that are neither a stale read nor a 503 (the database restarting)."""
    from loadtests.staleness import is_stale_failure

    return [
        {
            "request": f"{row.get('Method')} {row.get('Name')}",
            "error": row["Error"],
            "occurrences": int(row["Occurrences"]),
        }
        for row in failure_rows
        if not is_stale_failure(row.get("Error", "")) and "HTTP 503" not in row.get("Error", "")
    ]
