"""End to end, opt-in (about a minute): LOADTEST_FAULTS=1 pytest -m loadtest_smoke tests/loadtests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.loadtest_smoke
@pytest.mark.skipif(os.environ.get("LOADTEST_FAULTS") != "1", reason="set LOADTEST_FAULTS=1 to run")
def test_sync_through_a_database_restart_a_migration_and_a_redis_cut_serves_no_500_and_no_stray_stale_read(tmp_path):
    from tools.harness.postgres import Unavailable, find_bindir

    try:
        find_bindir()
    except Unavailable as error:
        pytest.skip(f"the fault run needs a private PostgreSQL: {error}")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "LOADTEST_ORACLE_URL")}
    command = [sys.executable, "-m", "loadtests.run", "--faults", "--duration", "30", "--users", "8"]
    done = subprocess.run([*command, "--out", str(tmp_path)], cwd=ROOT, env=env, timeout=600)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert done.returncode == 0, summary["failures"]
    windows = summary["attribution"]["windows"]
    assert [w["fault"] for w in windows] == ["restart the database", "migrate a watched model", "cut Redis for 5 s"]
    assert all(w["error"] is None and w["reads"] > 0 for w in windows)
    assert summary["attribution"]["outside"]["stale_reads"] == 0
    assert summary["stuck"]["stuck"] == 0 and summary["stuck"]["pages_checked"] > 0
    assert summary["http_500"] == 0
    assert summary["sync"]["reads_checked"] > 0
    # The faults happened: the relay lost and regained PostgreSQL, migrate changed catalog.Product.
    server_log = (tmp_path / "logs" / "sync-gunicorn.log").read_text()
    assert "Relay reconnected to database 'default'" in server_log
    assert (
        "Applying catalog.0005_fault_run_product_schema... OK" in (tmp_path / "logs" / "sync-migrate.log").read_text()
    )
