"""The private PostgreSQL servers of tools/harness: a replica that lags while its replay is paused,
a primary that restarts on its port, and nothing left behind."""

from __future__ import annotations

import os

import psycopg

from tools.harness.pytest_servers import private_postgres


def test_paused_replica_lags_until_replay_resumes(postgres_servers):
    primary, replica = postgres_servers.primary, postgres_servers.replica
    primary.query("CREATE TABLE IF NOT EXISTS harness_rows (n int)")
    primary.query("TRUNCATE harness_rows")
    postgres_servers.wait_replayed()
    postgres_servers.pause_replay()
    try:
        primary.query("INSERT INTO harness_rows VALUES (1)")
        assert primary.query("SELECT count(*) FROM harness_rows") == 1
        assert replica.query("SELECT count(*) FROM harness_rows") == 0
        assert replica.query("SELECT pg_is_in_recovery()") is True
    finally:
        postgres_servers.resume_replay()
    postgres_servers.wait_replayed()
    assert replica.query("SELECT count(*) FROM harness_rows") == 1


def test_restarted_primary_keeps_its_port_and_data(own_postgres):
    primary = own_postgres.primary
    primary.query("CREATE TABLE kept (n int)")
    primary.query("INSERT INTO kept VALUES (7)")
    old_pid, port = primary.pid, primary.port
    primary.restart()
    assert primary.port == port
    assert primary.pid != old_pid
    assert primary.query("SELECT n FROM kept") == 7


def test_stop_ends_the_postmaster_and_removes_the_directory():
    servers = private_postgres(replica=False).start()
    pid, workdir, dsn = servers.primary.pid, servers.workdir, servers.primary.dsn()
    servers.stop()
    assert not workdir.exists()
    try:
        os.kill(pid, 0)
        alive = True
    except ProcessLookupError:
        alive = False
    assert not alive
    try:
        psycopg.connect(dsn, connect_timeout=2).close()
        answered = True
    except psycopg.OperationalError:
        answered = False
    assert not answered
