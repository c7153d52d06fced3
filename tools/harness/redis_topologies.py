"""Redis topologies of our own, from the same redis-server: a 3-master cluster, and a master with a
replica watched by 3 sentinels. Each server runs on a quiet port, in a directory of its own under
`workdir`, and is stopped by the PID started here.

    with Cluster(workdir) as cluster: cluster.url, cluster.client()
    with SentinelGroup(workdir) as group: group.sentinels, group.service, group.kill(group.master_port)
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import redis
from redis.cluster import RedisCluster
from redis.sentinel import Sentinel

from .ports import quiet_port
from .redis_servers import RedisServer, redis_cli_binary

CLUSTER_BUS_OFFSET = 10000  # a cluster node also listens on its port + 10000


def _wait(condition: Callable[[], bool], what: str, servers: _Servers, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            if condition():
                return
        except (redis.RedisError, OSError):
            pass
        if time.monotonic() > deadline:
            exited = [port for port, server in servers.servers.items() if not server.running()]
            raise RuntimeError(f"{what} within {seconds:g} s" + (f"; exited: servers on {exited}" if exited else ""))
        time.sleep(0.05)


def _watches(master: dict, *, replicas: int, sentinels: int) -> bool:
    """Whether a sentinel knows the replica and the other sentinels. It learns of replicas from the
    master's INFO, every 10 s: a master killed before that has no replica to promote."""
    return master["slaves"] == replicas and master["sentinels"] == sentinels


class _Servers:
    def __init__(self, workdir: Path) -> None:
        self.workdir = Path(workdir)
        self.servers: dict[int, RedisServer] = {}  # by port

    def _start(self, port: int, *options: str, config: str = "") -> None:
        server = RedisServer(self.workdir / str(port), *options, port=port, config=config)
        self.servers[port] = server
        server.start()

    def kill(self, port: int) -> None:
        self.servers[port].kill()

    def pause(self, port: int) -> None:
        self.servers[port].pause()

    def resume(self, port: int) -> None:
        self.servers[port].resume()

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        for server in self.servers.values():
            server.kill()  # nothing of theirs is kept

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class Cluster(_Servers):
    """Three masters sharing the 16,384 slots, no replicas."""

    def __init__(self, workdir: Path, masters: int = 3) -> None:
        super().__init__(workdir)
        self.ports = [quiet_port(also_free=(CLUSTER_BUS_OFFSET,)) for _ in range(masters)]
        self.url = f"redis://127.0.0.1:{self.ports[0]}/0"

    def start(self) -> None:
        for port in self.ports:
            self._start(port, "--cluster-enabled", "yes", "--cluster-node-timeout", "2000")
        nodes = [f"127.0.0.1:{port}" for port in self.ports]
        subprocess.run(
            [redis_cli_binary(), "--cluster", "create", *nodes, "--cluster-replicas", "0", "--cluster-yes"],
            check=True,
            capture_output=True,
        )
        _wait(
            lambda: all(redis.Redis(port=p).cluster("info")["cluster_state"] == "ok" for p in self.ports),
            "the cluster did not reach state ok",
            self,
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
        self._start(self.master_port)
        self._start(self.replica_port, "--replicaof", "127.0.0.1", str(self.master_port))
        monitor = (
            f"sentinel monitor {self.service} 127.0.0.1 {self.master_port} 2\n"
            f"sentinel down-after-milliseconds {self.service} 400\n"
            f"sentinel failover-timeout {self.service} 2000\n"
        )
        _wait(
            lambda: redis.Redis(port=self.replica_port).info("replication")["master_link_status"] == "up",
            "the replica did not sync",
            self,
        )
        for port in self.sentinel_ports:  # after the sync: their first INFO of the master shows the replica
            self._start(port, "--sentinel", config=monitor)
        _wait(
            lambda: all(
                _watches(redis.Redis(port=p).info("sentinel")["master0"], replicas=1, sentinels=3)
                for p in self.sentinel_ports
            ),
            "the sentinels did not find each other and the replica",
            self,
        )

    @property
    def sentinels(self) -> list[tuple[str, int]]:
        return [("127.0.0.1", port) for port in self.sentinel_ports]

    def master_address(self) -> tuple[str, int]:
        return Sentinel(self.sentinels).discover_master(self.service)
