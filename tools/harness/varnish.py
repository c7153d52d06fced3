"""A varnishd of our own in front of a site, with the project's VCL (deploy/varnish/default.vcl).

    with VarnishServer(workdir, backend_port=site_port) as varnish:
        varnish.url         # http://127.0.0.1:<port>
        varnish.kill(); varnish.start()   # same port, same VCL: an edge that is down, then back

Debian's `varnish` and `varnish-modules` (vmod xkey). Foreground (`-F`), on a quiet port, waited for
by port, stopped by the PID started here (mirakuru stops the process group: manager and child).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from mirakuru import TCPExecutor
from mirakuru.exceptions import ProcessFinishedWithError

from .errors import Unavailable
from .ports import quiet_port

VCL = Path(__file__).resolve().parents[2] / "deploy" / "varnish" / "default.vcl"
START_TIMEOUT = 30.0
XKEY = "libvmod_xkey.so"


def varnishd_binary() -> str:
    found = shutil.which("varnishd") or next(
        (path for path in ("/usr/sbin/varnishd", "/usr/local/sbin/varnishd") if os.path.exists(path)), None
    )
    if not found:
        raise Unavailable("no varnishd (apt-get install varnish varnish-modules)")
    if not any(Path("/usr/lib").glob(f"*/varnish/vmods/{XKEY}")) and not any(
        Path("/usr/lib").glob(f"varnish/vmods/{XKEY}")
    ):
        raise Unavailable("varnishd has no vmod xkey (apt-get install varnish-modules)")
    return found


def vcl_for(backend_port: int, backend_host: str = "127.0.0.1") -> str:
    """The project's VCL with its backend moved to the given site."""
    text = VCL.read_text()
    text, hosts = re.subn(r'(backend default \{\s*\.host = )"[^"]*";', rf'\1"{backend_host}";', text)
    text, ports = re.subn(r'(backend default \{\s*\.host = "[^"]*";\s*\.port = )"\d+";', rf'\1"{backend_port}";', text)
    assert hosts == ports == 1, "deploy/varnish/default.vcl's `backend default` is not host, then port"
    return text


class VarnishServer:
    def __init__(self, workdir: Path | None = None, *, backend_port: int, port: int | None = None) -> None:
        self.binary = varnishd_binary()
        # varnishd's worker runs as an unprivileged user under root: its directories must be readable.
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="varnish-"))
        self.port = port if port is not None else quiet_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.backend_port = backend_port
        self._executor: TCPExecutor | None = None

    def command(self) -> list[str]:
        vcl = self.workdir / "default.vcl"
        vcl.write_text(vcl_for(self.backend_port))
        vcl.chmod(0o644)
        return [
            self.binary, "-F", "-n", str(self.workdir / "state"), "-a", f"127.0.0.1:{self.port}",
            "-f", str(vcl), "-s", "malloc,32m", "-T", "none", "-p", "thread_pool_min=5", "-p", "thread_pools=1",
        ]  # fmt: skip

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.workdir.chmod(0o755)
        log = (self.workdir / "varnishd.log").open("ab")
        self._executor = TCPExecutor(
            self.command(),
            host="127.0.0.1",
            port=self.port,
            timeout=START_TIMEOUT,
            sleep=0.05,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            self._executor.start()
        except Exception as error:
            self.kill()
            raise RuntimeError(f"varnishd on port {self.port} did not start: {self.log_tail()}") from error

    def running(self) -> bool:
        process = self._executor.process if self._executor else None
        return process is not None and process.poll() is None

    def stop(self) -> None:
        if self._executor is not None:
            with contextlib.suppress(ProcessFinishedWithError):
                self._executor.stop()
            self._executor = None

    def kill(self) -> None:
        """SIGKILL to its process group, as a crash would end it (the edge is down)."""
        if self._executor is not None:
            with contextlib.suppress(ProcessFinishedWithError):
                self._executor.kill(sig=signal.SIGKILL)
            self._executor = None

    def log_tail(self) -> str:
        try:
            return (self.workdir / "varnishd.log").read_text(errors="replace")[-2000:]
        except OSError:
            return "(no log)"

    def __enter__(self) -> VarnishServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)
