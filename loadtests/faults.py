"""The faults of `python -m loadtests.run --faults`, applied on a schedule while Locust runs.

restart the database   the private PostgreSQL primary (tools/harness) stops (fast shutdown) and
                       starts again on its port: gunicorn and the relay must reconnect
migrate a watched model  `migrate` with loadtests.fault_settings applies
                       loadtests/fault_migrations/0005: AddField and AlterField on catalog.Product
cut Redis              the pages' redis-server, by the PID the run started, SIGSTOP for 5 s then SIGCONT
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from loadtests.fault_windows import FaultWindow

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
# The settle margin after each fault: the relay's longest reconnection back-off (2 s, RECONNECT_MAX in
# cache_sync/delivery/relay.py), its catch-up of the outbox and one more round, rounded up to 5 s.
SETTLE_S = 5.0
REDIS_CUT_S = 5.0
AT_SHARES = (0.25, 0.5, 0.75)  # of the duration, one fault each


def restart_database(primary, down_s: float = 0.0) -> Callable[[], None]:
    """A restart of the server (stop, start); `down_s` > 0 keeps it stopped that long in between."""

    def restart() -> None:
        primary.stop()
        time.sleep(down_s)
        primary.start()

    return restart


def migrate_watched_model(env: dict[str, str], log_path: Path) -> Callable[[], None]:
    def migrate() -> None:
        command = [sys.executable, "manage.py", "migrate", "catalog", "--noinput", "-v1"]
        fault_env = {**env, "DJANGO_SETTINGS_MODULE": "loadtests.fault_settings"}
        with log_path.open("a") as log:
            subprocess.run(command, cwd=ROOT, env=fault_env, check=True, stdout=log, stderr=log, timeout=120)

    return migrate


def cut_redis(pid: int, seconds: float = REDIS_CUT_S) -> Callable[[], None]:
    def cut() -> None:
        os.kill(pid, signal.SIGSTOP)
        try:
            time.sleep(seconds)
        finally:
            os.kill(pid, signal.SIGCONT)

    return cut


class FaultSchedule(threading.Thread):
    """Applies each (seconds after t0, name, action) in turn and records its window."""

    def __init__(self, faults: list[tuple[float, str, Callable[[], None]]], *, t0: float, settle_s: float = SETTLE_S):
        super().__init__(name="fault-schedule", daemon=True)
        self.faults = sorted(faults, key=lambda fault: fault[0])
        self.t0 = t0
        self.settle_s = settle_s
        self.windows: list[FaultWindow] = []
        self.stopped = threading.Event()

    def run(self) -> None:
        for at, name, action in self.faults:
            if self.stopped.wait(max(0.0, self.t0 + at - time.time())):
                return
            start, error = time.time(), None
            print(f"[fault] {start - self.t0:5.1f} s  {name}", flush=True)
            try:
                action()
            except Exception as failure:  # recorded in the window and the report, the run goes on
                logger.exception("fault %s failed", name)
                error = repr(failure)
            end = time.time()
            print(f"[fault] {end - self.t0:5.1f} s  {name}: over after {end - start:.1f} s", flush=True)
            self.windows.append(FaultWindow(name, start, end, self.settle_s, error))

    def stop(self) -> None:
        self.stopped.set()
        self.join()
