"""End to end, opt-in (about 1.5 minutes): LOADTEST_SMOKE=1 pytest -m loadtest_smoke."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.loadtest_smoke
@pytest.mark.skipif(os.environ.get("LOADTEST_SMOKE") != "1", reason="set LOADTEST_SMOKE=1 to run")
def test_sync_serves_no_stale_reads_where_ttl_serves_many(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}  # a fresh SQLite per mode
    command = [sys.executable, "-m", "loadtests.run", "--smoke", "--out", str(tmp_path)]
    subprocess.run(command, cwd=ROOT, env=env, check=True, timeout=600)
    modes = json.loads((tmp_path / "summary.json").read_text())["modes"]
    assert modes["ttl"]["stale_reads"] > 0  # the detector fires where it must
    assert modes["sync"]["reads_checked"] > 0
    assert modes["sync"]["stale_reads"] == 0
    assert modes["sync"]["stuck"]["stuck"] == 0
    assert (tmp_path / "stale_reads.png").exists()


@pytest.mark.loadtest_smoke
@pytest.mark.skipif(os.environ.get("LOADTEST_SMOKE") != "1", reason="set LOADTEST_SMOKE=1 to run")
def test_two_app_servers_on_a_redis_cluster_with_distributed_locust_serve_no_stale_read(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    command = [
        sys.executable, "-m", "loadtests.run", "--smoke", "--modes", "sync", "--duration", "15", "--workers", "2",
        "--topology", "cluster", "--app-servers", "2", "--locust-workers", "2", "--out", str(tmp_path),
    ]  # fmt: skip
    subprocess.run(command, cwd=ROOT, env=env, check=True, timeout=600)
    sync = json.loads((tmp_path / "summary.json").read_text())["modes"]["sync"]
    assert sync["reads_checked"] > 0 and sync["stale_reads"] == 0 and sync["stuck"]["stuck"] == 0
    per_server = sync["requests_per_s_per_app_server"]
    assert len(per_server) == 2 and all(rate > 0 for rate in per_server)  # the balancer fed both
