"""The secret key of this checkout's local runs: made once, kept in .run/secret_key (SILK_ROAD_RUN_DIR).

Without DJANGO_SECRET_KEY, and outside DJANGO_PRODUCTION and DJANGO_DEBUG, the
settings use it (`manage.py check` works on a fresh clone, and never with a key
anyone else knows); `tools.stack` hands it to what it starts.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def key_file() -> Path:
    return Path(os.environ.get("SILK_ROAD_RUN_DIR", Path(__file__).resolve().parent.parent / ".run")) / "secret_key"


def local_secret_key() -> str:
    """This checkout's key, made on first use; two commands starting together get the same one."""
    path = key_file()
    try:
        if key := path.read_text().strip():
            return key
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(secrets.token_urlsafe(50))
    try:
        os.link(draft, path)  # atomic, and never replaces a key another command made meanwhile
    except FileExistsError:
        pass
    finally:
        draft.unlink()
    return path.read_text().strip()


def with_local_secret_key(env: dict[str, str]) -> dict[str, str]:
    """`env` with DJANGO_SECRET_KEY: its own when set, else this checkout's."""
    if env.get("DJANGO_SECRET_KEY", "").strip():
        return env
    return {**env, "DJANGO_SECRET_KEY": local_secret_key()}
