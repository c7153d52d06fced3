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
