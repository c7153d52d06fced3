"""Where the soak's CPU goes: seconds used by the readers, the site's gunicorn workers, the relay and the writers.

Read from /proc (Linux): a process's utime + stime, and a gunicorn master's
children, the workers. The summary divides each by the reads, so that a run
says which side bounds it.
"""

from __future__ import annotations

import os
import resource
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu_s(pid: int) -> float:
    """utime + stime of a process (0 once it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rpartition(")")[2].split()  # after the command name, which may hold spaces
    return (int(fields[11]) + int(fields[12])) / TICKS  # fields 14 and 15 of proc(5)


def children(pid: int) -> list[int]:
    try:
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def own_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class CpuMeter:
    """CPU seconds of the site's processes (gunicorn's workers, the relay) and of this process, since `start`."""

    def __init__(self, gunicorn_pid: int, relay_pid: int) -> None:
        self.gunicorn_pid, self.relay_pid = gunicorn_pid, relay_pid
        self._start = self._now()

    def _now(self) -> dict[str, float]:
        workers = sum(process_cpu_s(pid) for pid in children(self.gunicorn_pid))
        return {"gunicorn_workers": workers, "relay": process_cpu_s(self.relay_pid), "runner": own_cpu_s()}

    def used(self) -> dict[str, float]:
        """Seconds since `start` (a worker restarted meanwhile would count from its own start)."""
        return {name: round(value - self._start[name], 2) for name, value in self._now().items()}
