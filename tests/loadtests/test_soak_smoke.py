"""End to end, opt-in (about a minute): LOADTEST_SMOKE=1 pytest -m loadtest_smoke tests/loadtests/test_soak_smoke.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
READS = 3000


@pytest.mark.loadtest_smoke
@pytest.mark.skipif(os.environ.get("LOADTEST_SMOKE") != "1", reason="set LOADTEST_SMOKE=1 to run")
def test_a_tiny_soak_serves_no_stale_read_in_sync_and_catches_ttls(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}  # a fresh SQLite per mode
    command = [sys.executable, "-m", "loadtests.soak", "--modes", "ttl,sync", "--reads", str(READS)]
    command += ["--minutes", "2", "--readers", "2", "--out", str(tmp_path)]
    result = subprocess.run(command, cwd=ROOT, env=env, timeout=600, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    summaries = json.loads((tmp_path / "summary.json").read_text())
    ttl, sync = summaries["ttl"], summaries["sync"]
    # The checks catch stale pages where there are some: during the reads, and cached until their TTL after.
    assert ttl["stale_reads"] > 0 and ttl["stale_examples"] and ttl["stuck"]["stuck"] > 0
    assert sync["reached"] and sync["reads_checked"] >= READS
    assert sync["stale_reads"] == 0 and sync["stuck"]["stuck"] == 0
    assert sync["http_failures"] == 0 and sync["writes"] > 0  # writers wrote throughout
    assert "Soak: stale reads per million" in (tmp_path / "summary.md").read_text()
