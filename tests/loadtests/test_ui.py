"""`make loadtest-ui` end to end, opt-in like the load test's smoke run: LOADTEST_SMOKE=1 pytest -m loadtest_smoke."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tools.harness.ports import quiet_port

ROOT = Path(__file__).resolve().parents[2]


def fetch(url: str, data: dict | None = None) -> dict:
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    with urllib.request.urlopen(url, data=body, timeout=10) as response:
        return json.loads(response.read())


@pytest.mark.loadtest_smoke
@pytest.mark.skipif(os.environ.get("LOADTEST_SMOKE") != "1", reason="set LOADTEST_SMOKE=1 to run")
def test_the_web_ui_runs_on_a_site_and_redis_of_its_own_and_counts_staleness(tmp_path):
    dev_database = tmp_path / "dev.sqlite3"
    env = {
        **os.environ,
        "SILK_ROAD_RUN_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{dev_database}",  # the dev data: must stay untouched
        "REDIS_URL": f"redis://127.0.0.1:{quiet_port()}/0",  # a shared Redis that nobody may use
    }
    web = f"http://127.0.0.1:{quiet_port()}"
    command = [
        sys.executable, "-m", "loadtests.ui", "--products", "40", "--categories", "3", "--profiles", "5",
        "--workers", "2", "--web-port", web.rsplit(":", 1)[1],
    ]  # fmt: skip
    log = tmp_path / "ui.log"
    with log.open("w") as out:
        ui = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        while not (found := re.search(r"Locust web UI: (\S+)/ +\(site under test: (\S+),", log.read_text())):
            assert ui.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.5)
        assert found.group(1) == web
        host = found.group(2)
        while True:  # Locust starts after the line is printed
            try:
                fetch(f"{web}/staleness")
                break
            except OSError:
                assert ui.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.5)
        fetch(f"{web}/swarm", {"user_count": 4, "spawn_rate": 4, "host": host})
        deadline = time.monotonic() + 60
        while int(fetch(f"{web}/staleness")["reads checked against an acknowledged write"]) == 0:
            assert time.monotonic() < deadline, "no read was checked within 60 s"
            time.sleep(1)
        stats = fetch(f"{web}/stats/requests")
        assert {row["method"] for row in stats["stats"]} <= {"GET", "POST", ""}  # no STALE pseudo-requests
        assert stats["extended_stats"][0]["key"] == "staleness"
    finally:
        ui.send_signal(signal.SIGTERM)
        ui.wait(timeout=60)
    assert not dev_database.exists()
    assert not list((tmp_path / "loadtest-ui").glob("db/*.sqlite3"))
