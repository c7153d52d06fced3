"""Private PostgreSQL servers: a primary and, optionally, a streaming replica of it.

    with PrivatePostgres(replica=True) as servers:
        servers.primary.url("test")     # postgres://postgres@127.0.0.1:<port>/test
        servers.pause_replay()          # the replica lags from now on
        servers.resume_replay(); servers.wait_replayed()
        servers.primary.restart()       # e.g. under a running relay

Built from Debian's PostgreSQL binaries (`/usr/lib/postgresql/<version>/bin`) with `initdb`,
`pg_basebackup` and `postgres`, in a temporary directory that the harness removes. PostgreSQL
refuses to run as root, so as root every command runs as the `postgres` user (`runuser -u
postgres --`). Tuned to start in a second and to lose everything on a crash: trust authentication,
`fsync=off`, small buffers. mirakuru starts each postmaster, waits until it accepts connections, and
stops the process group it started (a fast shutdown, then SIGKILL after the timeout).

Not pytest-postgresql: its executor runs `pg_ctl` as the current user (PostgreSQL refuses root)
and has no standby; initdb, pg_basebackup and the replay controls are the part that is ours.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from mirakuru import TCPExecutor
from mirakuru.exceptions import AlreadyRunning, ProcessFinishedWithError

from .errors import Unavailable
from .ports import quiet_port

logger = logging.getLogger(__name__)

USER = "postgres"  # the database superuser, and the system user the servers run as under root
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0

SETTINGS = {
    "fsync": "off",
    "full_page_writes": "off",
    "shared_buffers": "16MB",
    "max_connections": "60",
    "wal_level": "replica",
    "max_wal_senders": "4",
    "wal_keep_size": "64MB",
    "hot_standby": "on",
    "wal_retrieve_retry_interval": "100ms",  # a replica reconnects soon after its primary restarts
    "listen_addresses": "'127.0.0.1'",
    "unix_socket_directories": "''",  # TCP only: no lock file shared with the machine's own cluster
    "logging_collector": "off",
}


class _AcceptsConnections(TCPExecutor):
    """Started once the server accepts a connection: it listens before it has finished starting up."""

    def __init__(self, command: list[str], *, dsn: str, **options) -> None:
        super().__init__(command, **options)
        self.dsn = dsn

    def after_start_check(self) -> bool:
        import psycopg

        try:
            psycopg.connect(self.dsn, connect_timeout=2).close()
        except psycopg.OperationalError:
            return False
        return True


def find_bindir() -> Path:
    """The newest `/usr/lib/postgresql/<version>/bin` holding initdb (PG_BINDIR overrides it)."""
    candidates = [Path(os.environ["PG_BINDIR"])] if os.environ.get("PG_BINDIR") else []
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: _version(p.parent.name), reverse=True)
    for bindir in [*candidates, *versions]:
        if all((bindir / name).exists() for name in ("initdb", "pg_basebackup", "postgres")):
            return bindir
    raise Unavailable("no PostgreSQL server binaries (apt-get install postgresql-15, or set PG_BINDIR)")


def _version(name: str) -> int:
    return int(name) if name.isdigit() else 0


def _as_postgres() -> list[str]:
    """The prefix that runs a command as the postgres user (none when not root)."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam(USER)
    except KeyError:
        raise Unavailable(f"running as root and there is no {USER!r} user to run PostgreSQL as") from None
    if not shutil.which("runuser"):
        raise Unavailable("running as root and there is no runuser to run PostgreSQL as another user")
    return ["runuser", "-u", USER, "--"]


def _give_to_postgres(path: Path) -> None:
    if os.geteuid() == 0:
        entry = pwd.getpwnam(USER)
        os.chown(path, entry.pw_uid, entry.pw_gid)


class PostgresServer:
    """One postmaster on a data directory; start, stop and restart it on the same port."""

    def __init__(self, bindir: Path, datadir: Path, port: int) -> None:
        self.bindir = bindir
        self.datadir = datadir
        self.port = port
        self.log = datadir.with_suffix(".log")
        self._executor: TCPExecutor | None = None
        self.pid: int | None = None  # the postmaster's own (under root, the executor's process is runuser)

    def url(self, dbname: str = "postgres") -> str:
        return f"postgres://{USER}@127.0.0.1:{self.port}/{dbname}"

    def dsn(self, dbname: str = "postgres") -> str:
        return f"host=127.0.0.1 port={self.port} user={USER} dbname={dbname}"

    def start(self) -> None:
        command = [*_as_postgres(), str(self.bindir / "postgres"), "-D", str(self.datadir), "-p", str(self.port)]
        with open(self.log, "ab") as log:
            self._executor = _AcceptsConnections(
                command,
                dsn=self.dsn(),
                host="127.0.0.1",
                port=self.port,
                timeout=START_TIMEOUT,
                sleep=0.05,
                stop_signal=signal.SIGINT,  # a fast shutdown
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            try:
                self._executor.start()
            except AlreadyRunning as error:
                self._executor = None
                raise RuntimeError(f"port {self.port} already in use") from error
            except Exception as error:
                self._executor.kill()
                self._executor = None
                raise RuntimeError(f"postgres on port {self.port} did not start: {self._log_tail()}") from error
        self.pid = int((self.datadir / "postmaster.pid").read_text().split()[0])

    def _log_tail(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-2000:]
        except OSError:
            return "(no log)"

    def stop(self, *, immediate: bool = False) -> None:
        """Stop the postmaster: a fast (or immediate) shutdown, then SIGKILL after the timeout."""
        if self._executor is None:
            return
        with contextlib.suppress(ProcessFinishedWithError):  # runuser reports the signal it passed on
            self._executor.stop(stop_signal=signal.SIGQUIT if immediate else signal.SIGINT)
        self._executor = None
        self.pid = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def query(self, sql: str, *params, dbname: str = "postgres"):
        """The first column of the first row of `sql` (None when it returns no rows), in autocommit."""
        import psycopg

        with psycopg.connect(self.dsn(dbname), autocommit=True, connect_timeout=5) as connection:
            cursor = connection.execute(sql, params or None)
            row = cursor.fetchone() if cursor.description else None
        return row[0] if row else None


def _start_on_a_quiet_port(server: PostgresServer, attempts: int = 3) -> None:
    """Start `server`; if another process bound its port first, on another one."""
    for attempt in range(attempts):
        try:
            server.start()
            return
        except RuntimeError as error:
            if "already in use" not in str(error) or attempt == attempts - 1:
                raise
            server.port = quiet_port()


class PrivatePostgres:
    """A primary and, with `replica=True`, a hot standby streaming from it, in a directory of their own."""

    def __init__(self, *, replica: bool = False) -> None:
        self.bindir = find_bindir()
        self.with_replica = replica
        self.workdir: Path | None = None
        self.primary: PostgresServer | None = None
        self.replica: PostgresServer | None = None

    def start(self) -> PrivatePostgres:
        prefix = _as_postgres()
        self.workdir = Path(tempfile.mkdtemp(prefix="harness-postgres-"))
        _give_to_postgres(self.workdir)
        try:
            self.primary = PostgresServer(self.bindir, self.workdir / "primary", quiet_port())
            self._run(
                *prefix, str(self.bindir / "initdb"), "-D", str(self.primary.datadir), "-U", USER,
                "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions",
            )  # fmt: skip
            with open(self.primary.datadir / "postgresql.conf", "a") as conf:
                conf.writelines(f"{name} = {value}\n" for name, value in SETTINGS.items())
            _start_on_a_quiet_port(self.primary)
            if self.with_replica:
                self.replica = PostgresServer(self.bindir, self.workdir / "replica", quiet_port())
                self._run(
                    *prefix, str(self.bindir / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(self.primary.port),
                    "-U", USER, "-D", str(self.replica.datadir), "-R", "-X", "stream", "-c", "fast", "--no-sync",
                )  # fmt: skip
                _start_on_a_quiet_port(self.replica)
        except BaseException:
            self.stop()
            raise
        return self

    def _run(self, *command: str) -> None:
        done = subprocess.run(command, capture_output=True, text=True, cwd=self.workdir, timeout=120)
        if done.returncode != 0:
            program = Path(command[len(_as_postgres())]).name
            raise RuntimeError(f"{program} failed: {done.stdout[-1000:]}{done.stderr[-1000:]}")

    def stop(self) -> None:
        """Stop every server started here (replica first) and remove their directory."""
        for server in (self.replica, self.primary):
            if server is not None:
                try:
                    server.stop()
                except Exception:
                    logger.exception("stopping postgres on port %s", server.port)
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    def __enter__(self) -> PrivatePostgres:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # The replica's replay: paused, it still receives the primary's WAL but applies none of it.

    def pause_replay(self) -> None:
        self.replica.query("SELECT pg_wal_replay_pause()")
        self._wait_for(lambda: self.replica.query("SELECT pg_get_wal_replay_pause_state()") == "paused", "paused")

    def resume_replay(self) -> None:
        self.replica.query("SELECT pg_wal_replay_resume()")

    def wait_replayed(self, timeout: float = START_TIMEOUT) -> None:
        """Until the replica has replayed everything the primary has written so far."""
        position = self.primary.query("SELECT pg_current_wal_insert_lsn()::text")
        self._wait_for(
            lambda: self.replica.query("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", position),
            f"replayed up to {position}",
            timeout,
        )

    def _wait_for(self, condition, what: str, timeout: float = START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise RuntimeError(f"the replica was not {what} within {timeout:g} s")
            time.sleep(0.02)
