"""Helpers of cache_sync's tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def python_path(first: Path) -> str:
    """PYTHONPATH of a child process: `first` (where this cache_sync is importable from), then what this
    process was given (the mutant tool runs a copy of cache_sync and gives the repository, for tools.harness)."""
    return os.pathsep.join(filter(None, [str(first), os.environ.get("PYTHONPATH", "")]))


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
        env={**env, **more_env, "DATABASE_URL": database_url, "PYTHONPATH": python_path(library.parent)},
        cwd=library,
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip
    assert child.returncode == 0, child.stdout[-4000:] + child.stderr[-2000:]
    assert " passed" in child.stdout, child.stdout[-2000:]  # not a child that collected nothing


def unacknowledged(using: str = "default") -> list:
    """The outbox entries (by id) that no writer acknowledged in Redis: those left for the relay. A writer's
    delivered entries stay in the outbox until the relay deletes them in bulk (cache_sync/delivery/acks.py)."""
    from cache_sync.conf import get_config
    from cache_sync.delivery import acks
    from cache_sync.models import OutboxEntry
    from cache_sync.store.page_store import get_store

    entries = list(OutboxEntry.objects.using(using).order_by("id"))
    store = get_store(get_config().cache_alias)
    acknowledged = store.acknowledged(acks.acknowledgements_key(store, using), [entry.id for entry in entries])
    return [entry for entry in entries if entry.id not in acknowledged]


def unacknowledged_models(using: str = "default") -> list[str]:
    return [entry.model for entry in unacknowledged(using)]
