"""Fixtures of private PostgreSQL servers (tools/harness/postgres.py): a primary with a streaming
replica for the whole session, and a primary of a test's own that it may stop and restart.
Skipped, with the reason, where PostgreSQL's server binaries are missing."""

from __future__ import annotations

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
