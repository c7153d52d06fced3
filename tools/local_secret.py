"""The secret key of this checkout's local runs (`make run`, `make test`...): made once, kept in .run/.

The site refuses the public dev-only key when DEBUG is off (website/settings.py);
`tools.stack` hands this key to what it starts unless DJANGO_SECRET_KEY is set.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

KEY_FILE = Path(__file__).resolve().parent.parent / ".run" / "secret_key"


def local_secret_key() -> str:
    """This checkout's key, made on first use; two commands starting together get the same one."""
    try:
        if key := KEY_FILE.read_text().strip():
            return key
    except FileNotFoundError:
        pass
    KEY_FILE.parent.mkdir(exist_ok=True)
    draft = KEY_FILE.with_name(f"{KEY_FILE.name}.{os.getpid()}.tmp")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(secrets.token_urlsafe(50))
    try:
        os.link(draft, KEY_FILE)  # atomic, and never replaces a key another command made meanwhile
    except FileExistsError:
        pass
    finally:
        draft.unlink()
    return KEY_FILE.read_text().strip()


def with_local_secret_key(env: dict[str, str]) -> dict[str, str]:
    """`env` with DJANGO_SECRET_KEY: its own when set, else this checkout's."""
    if env.get("DJANGO_SECRET_KEY", "").strip():
        return env
    return {**env, "DJANGO_SECRET_KEY": local_secret_key()}
