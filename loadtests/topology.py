"""Where the load test's site runs: one Redis or a 3-master Redis Cluster for its pages, and one or
several app servers (gunicorn, each with a relay), behind the round-robin balancer when several."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import redis
from redis.cluster import RedisCluster

from tools.harness.ports import quiet_port

ROOT = Path(__file__).resolve().parent.parent


@contextlib.contextmanager
def pages_redis(topology: str, single_url: str) -> Iterator[dict[str, str]]:
    """The environment that points the site's page cache at the topology (started here for a cluster)."""
    if topology == "single":
        yield {"REDIS_URL": single_url}
        return
    from tools.harness.redis_topologies import Cluster

    with tempfile.TemporaryDirectory(prefix="loadtest-cluster-") as workdir, Cluster(Path(workdir)) as cluster:
        yield {"REDIS_URL": cluster.url, "REDIS_CLUSTER": "1"}


def redis_client(env: dict[str, str]) -> redis.Redis | RedisCluster:
    if env.get("REDIS_CLUSTER") == "1":
        return RedisCluster.from_url(env["REDIS_URL"])
    return redis.Redis.from_url(env["REDIS_URL"])


@dataclass
class AppServers:
    host: str  # what Locust loads: the balancer, or the one server
    processes: list[subprocess.Popen] = field(default_factory=list)
    access_logs: list[Path] = field(default_factory=list)

    def requests_per_server(self) -> list[int]:
        """Requests each app server answered (lines of its access log)."""
        counts = []
        for path in self.access_logs:
            with path.open("rb") as log:
                counts.append(sum(1 for _ in log))
        return counts


@contextlib.contextmanager
def app_servers(count: int, workers: int, env: dict[str, str], logs: Path, name: str) -> Iterator[AppServers]:
    """`count` gunicorns of `workers` workers, each with its relay; a balancer in front of several."""
    ports = [quiet_port() for _ in range(count)]
    servers = AppServers(host=f"http://127.0.0.1:{ports[0]}")
    log = (logs / f"{name}-gunicorn.log").open("w")
    try:
        for n, port in enumerate(ports):
            access_log = logs / f"{name}-access-{n + 1}.log"
            access_log.write_text("")
            servers.access_logs.append(access_log)
            gunicorn = [
                sys.executable, "-m", "gunicorn", "website.wsgi", "--workers", str(workers),
                "--bind", f"127.0.0.1:{port}", "--graceful-timeout", "5", "--timeout", "60",
                "--access-logfile", str(access_log),
            ]  # fmt: skip
            relay = [sys.executable, "manage.py", "cache_sync", "relay"]
            for command in (gunicorn, relay):
                # Sessions of their own: a Ctrl-C stops Locust first, then these, not all at once.
                servers.processes.append(
                    subprocess.Popen(
                        command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
                    )
                )
        if count > 1:
            balancer_port = quiet_port()
            balancer = [sys.executable, "-m", "loadtests.balancer", "--listen", str(balancer_port)]
            balancer += ["--to", ",".join(f"127.0.0.1:{port}" for port in ports)]
            servers.processes.append(subprocess.Popen(balancer, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT))
            servers.host = f"http://127.0.0.1:{balancer_port}"
        yield servers
    finally:
        for process in reversed(servers.processes):
            stop(process)
        log.close()


def stop(process: subprocess.Popen | None, timeout: float = 15) -> None:
    """SIGTERM, then SIGKILL after `timeout` seconds."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
