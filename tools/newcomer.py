"""Run `make run` as a newcomer does, and check what the README promises of it.

    python3.11 -m tools.newcomer        # `make newcomer`; .ci/run calls it
    python3.11 -m tools.newcomer REV    # the same for another commit (to see an old one fail)

A fresh clone of HEAD, no `.venv`, no REDIS_URL, DATABASE_URL or DJANGO_SETTINGS_MODULE in the
environment, no venv on PATH: `make run` alone must create its venv from the runtime lock, serve `/`,
answer a product page's second visit from the cache (`X-Cache: hit`) and `/admin/login/`, and a Ctrl-C
(SIGINT to its process group, as a terminal sends it) must stop every process it started within 5 s.
Runs on the standard library only: it starts before any venv exists.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 900  # seconds: the venv is created and the runtime lock installed first
STOP_TIMEOUT = 5
FOREIGN_VARIABLES = ("REDIS_URL", "DATABASE_URL", "DJANGO_SETTINGS_MODULE", "VIRTUAL_ENV", "PYTHONPATH")


class NewcomerFailure(Exception):
    pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def newcomer_env(port: int) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if name not in FOREIGN_VARIABLES}
    path = [part for part in env.get("PATH", "").split(os.pathsep) if "/.venv/" not in part + "/"]
    env["PATH"] = os.pathsep.join(path)
    env["BIND"] = f"127.0.0.1:{port}"  # the README's way to choose the port; 8000 may be someone's
    return env


def get(url: str) -> tuple[int, dict[str, str], str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode(errors="replace")


def children_of() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            tree.setdefault(int(fields[1]), []).append(int(entry.name))
    return tree


def descendants(pid: int) -> set[int]:
    tree, found, todo = children_of(), set(), [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_for_site(site: str, make: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if make.poll() is not None:
            raise NewcomerFailure(f"`make run` exited with {make.returncode} before serving")
        try:
            if get(site + "/")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(1)
    raise NewcomerFailure(f"{site}/ did not answer 200 within {START_TIMEOUT} s")


def check_pages(site: str) -> list[str]:
    """What a visitor sees; returns the problems found."""
    problems = []
    status, _headers, home = get(site + "/")
    products = re.findall(r'href="(/products/[^"/]+/)"', home)
    if status != 200 or not products:
        return [f"/ answered {status} with {len(products)} product links"]
    first, _ = get(site + products[0])[:2]
    second_status, second, _body = get(site + products[0])
    if first != 200 or second_status != 200 or second.get("X-Cache") != "hit":
        problems.append(f"{products[0]}: {first}, then {second_status} X-Cache={second.get('X-Cache')}")
    admin = get(site + "/admin/login/")[0]
    if admin != 200:
        problems.append(f"/admin/login/ answered {admin}")
    return problems


def stop_with_ctrl_c(make: subprocess.Popen) -> list[str]:
    started = descendants(make.pid) | {make.pid}
    os.killpg(make.pid, signal.SIGINT)  # a terminal's Ctrl-C goes to the whole foreground group
    deadline = time.monotonic() + STOP_TIMEOUT
    while time.monotonic() < deadline and any(alive(pid) for pid in started):
        time.sleep(0.1)
    left = sorted(pid for pid in started if alive(pid))
    problems = []
    if left:
        names = {pid: Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")[:120] for pid in left}
        problems.append(f"still running {STOP_TIMEOUT} s after Ctrl-C: {names}")
        for pid in left:
            os.kill(pid, signal.SIGKILL)
    return problems


def check_runtime_imports(clone: Path) -> list[str]:
    """The newcomer's venv holds the runtime lock alone: everything the site loads must import from it."""
    done = subprocess.run(
        [str(clone / ".venv/bin/python"), "-m", "tools.runtime_imports"], cwd=clone, capture_output=True, text=True
    )
    print(done.stdout.strip(), flush=True)
    return [] if done.returncode == 0 else [done.stdout.strip() + done.stderr.strip()[-2000:]]


def main(argv: list[str]) -> int:
    revision = argv[0] if argv else "HEAD"
    workdir = Path(tempfile.mkdtemp(prefix="newcomer-"))
    clone = workdir / "silk-road"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    subprocess.run(["git", "-C", str(clone), "checkout", "-q", revision], check=True)
    port = free_port()
    site = f"http://127.0.0.1:{port}"
    log = workdir / "make-run.log"
    print(f"newcomer: `make run` in a fresh clone of {revision} ({clone}), serving on {site}", flush=True)
    began = time.monotonic()
    with log.open("w") as output:
        make = subprocess.Popen(
            ["make", "run"], cwd=clone, env=newcomer_env(port), stdout=output, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        problems: list[str] = []
        try:
            wait_for_site(site, make, log)
            print(f"newcomer: served after {time.monotonic() - began:.0f} s", flush=True)
            problems += check_pages(site)
            problems += stop_with_ctrl_c(make)
            problems += check_runtime_imports(clone)
        except NewcomerFailure as failure:
            problems.append(str(failure))
            if make.poll() is None:
                os.killpg(make.pid, signal.SIGKILL)
        make.wait(timeout=30)
    if problems:
        print("newcomer: FAILED\n  " + "\n  ".join(problems), file=sys.stderr)
        print("---- the last lines of `make run` ----", file=sys.stderr)
        print("\n".join(log.read_text(errors="replace").splitlines()[-40:]), file=sys.stderr)
        return 1
    print("newcomer: make run served /, a cached product page and /admin/login/; Ctrl-C stopped it all")
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
