"""Import every module the running site loads, to prove the runtime lock installs what the runtime imports.

    .venv/bin/python -m tools.runtime_imports     # in a venv made from requirements.txt alone

A dev venv hides a missing runtime dependency (pytest brings `packaging`, which gunicorn's gevent
worker needs), so tools/newcomer.py runs this in the newcomer's venv, which has the runtime set only.
It imports the WSGI application (cache_sync's front door around Django), gunicorn's gevent worker,
every dotted path the settings name (middleware, cache clients, database engines, storages, session
engine, authentication and mail backends, password hashers) and every management command.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterator

from django.utils.module_loading import import_string

MODULES = ("website.wsgi", "gunicorn.workers.ggevent", "gunicorn.app.wsgiapp", "cache_sync.wsgi")
DEV_ONLY = ("pytest", "fakeredis", "locust")  # must be absent: otherwise this venv proves nothing


def dotted_paths_in_settings(settings) -> Iterator[str]:
    yield from settings.MIDDLEWARE
    yield from settings.AUTHENTICATION_BACKENDS
    yield from settings.PASSWORD_HASHERS
    yield settings.SESSION_ENGINE + ".SessionStore"
    yield settings.EMAIL_BACKEND
    for cache in settings.CACHES.values():
        yield cache["BACKEND"]
        if client := cache.get("OPTIONS", {}).get("CLIENT_CLASS"):
            yield client
    for database in settings.DATABASES.values():
        yield database["ENGINE"] + ".base.DatabaseWrapper"
    for storage in settings.STORAGES.values():
        yield storage["BACKEND"]


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "website.settings")
    present = [name for name in DEV_ONLY if importlib.util.find_spec(name) is not None]
    if present:
        print(f"runtime imports: this venv has {present}: run it in one made from requirements.txt only")
        return 2
    import django
    from django.conf import settings
    from django.core.management import get_commands, load_command_class

    django.setup()
    failures = []
    for name in MODULES:
        try:
            importlib.import_module(name)
        except Exception as error:  # any import failure is what this check reports
            failures.append(f"{name}: {error!r}")
    for path in dotted_paths_in_settings(settings):
        try:
            import_string(path)
        except Exception as error:
            failures.append(f"{path}: {error!r}")
    commands = get_commands()
    for command, app in commands.items():
        try:
            load_command_class(app, command)
        except Exception as error:
            failures.append(f"manage.py {command}: {error!r}")
    if failures:
        print("runtime imports FAILED:\n  " + "\n  ".join(failures))
        return 1
    print(f"runtime imports: {len(MODULES)} modules, the settings' backends and {len(commands)} commands import")
    return 0


if __name__ == "__main__":
    sys.exit(main())
