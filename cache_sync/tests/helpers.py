"""Helpers of cache_sync's tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def cached(client, *urls):
    """Each URL read twice: the second read must be a hit."""
    for url in urls:
        client.get(url)
        assert client.get(url)["X-Cache"] == "hit", url


def page(client, url: str) -> str:
    return client.get(url).content.decode()


def run_suite_on(database_url: str, *files: Path, settings: str, env: dict, **more_env: str) -> None:
    """Run these test files in a child pytest on `database_url` (with its own settings module), and
    fail with its output unless every test there passed."""
    library = Path(__file__).resolve().parents[1]  # the cache_sync folder: its pyproject.toml configures pytest
    child = subprocess.run(
        [
            sys.executable, "-m", "pytest", "-o", "addopts=", "-q", "-p", "no:cacheprovider",
            "-c", str(library / "pyproject.toml"), "--rootdir", str(library), "--ds", settings, *map(str, files),
        ],
        env={**env, **more_env, "DATABASE_URL": database_url, "PYTHONPATH": str(library.parent)},
        cwd=library,
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip
    assert child.returncode == 0, child.stdout[-4000:] + child.stderr[-2000:]
    assert " passed" in child.stdout, child.stdout[-2000:]  # not a child that collected nothing
