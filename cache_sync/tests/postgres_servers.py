"""Fixtures of private PostgreSQL servers (tools/harness/postgres.py): a primary with a streaming
replica for the whole session, and a primary of a test's own that it may stop and restart.
Skipped, with the reason, where PostgreSQL's server binaries are missing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


def private_postgres(*, replica: bool):
    """A PrivatePostgres not started yet, or a skip saying why there can be none."""
    try:
        from tools.harness.postgres import PrivatePostgres, Unavailable
    except ImportError:
        pytest.skip("tools.harness is not importable: run the suite from the Silk Road repository")
    try:
        return PrivatePostgres(replica=replica)
    except Unavailable as error:
        pytest.skip(f"no private PostgreSQL: {error}")


@pytest.fixture(scope="session")
def postgres_servers():
    """A primary and a hot standby streaming from it, for the session (`.primary`, `.replica`,
    `.pause_replay()`, `.resume_replay()`, `.wait_replayed()`). A test that pauses replay resumes it."""
    servers = private_postgres(replica=True)
    with servers:
        yield servers


@pytest.fixture
def own_postgres():
    """A primary of this test's own, which it may stop and restart (`.primary.restart()`)."""
    servers = private_postgres(replica=False)
    with servers:
        yield servers


def run_suite_on(database_url: str, *files: Path, settings: str, env: dict, **more_env: str) -> None:
    """Run these test files in a child pytest on `database_url` (with its own settings module), and
    fail with its output unless every test there passed."""
    library = Path(__file__).resolve().parents[1]  # the cache_sync folder: its pyproject.toml configures pytest
    child = subprocess.run(
        [
            sys.executable, "-m", "pytest", "-o", "addopts=", "-q", "-p", "no:cacheprovider",
            "-c", str(library / "pyproject.toml"), "--rootdir", str(library), "--ds", settings, *map(str, files),
        ],
        env={**env, **more_env, "DATABASE_URL": database_url, "PYTHONPATH": str(library.parent)},
        cwd=library,
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip
    assert child.returncode == 0, child.stdout[-4000:] + child.stderr[-2000:]
    assert " passed" in child.stdout, child.stdout[-2000:]  # not a child that collected nothing
