"""A writer's own outbox entries, told to it by its triggers (PostgreSQL): no read of the outbox after its commit.

Every PostgreSQL connection of a process with `WRITER_NOTICES` (the default) starts
its session with `cache_sync.own_entries = on` (a libpq startup option: no round
trip). In such a session each trigger function that records an entry also raises
an INFO message with it: the rows as recorded, the entry's id, its model, and the
paths through a relation it followed and locked (capture/followed.py). libpq hands
the message to the client with the answer to the statement that raised it, before
`execute()` returns; the handler installed on the connection keeps it. By the
commit the connection holds every entry its transaction wrote, and its delivery
renders their keys from them instead of reading the outbox again.

Messages come at the statement, not at the commit: a rollback (of the transaction
or of a savepoint, through Django) drops those told since it began. One that
Django does not see (a raw `ROLLBACK`) leaves them, and the next delivery deletes
their families too (a needless miss, never a stale page). A connection told
nothing (triggers of an older release, a pooler that dropped the startup option),
whose buffer overflowed or whose last delivery failed reads its entries back as
before: nothing is missed, one round trip is spent.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.utils import load_backend

from ..capture.outbox import Change, Followed
from ..capture.trigger_sql import NOTICE_MESSAGE, OWN_ENTRIES
from ..conf import get_config

BUFFER_LIMIT = 10_000  # notices kept between two deliveries; past it, the delivery reads back instead
STARTUP_OPTION = f"-c {OWN_ENTRIES}=on"
_ATTRIBUTE = "_cache_sync_own_entries"


class _Notices:
    """The notice handler of one driver connection, and the entries it was told since the last delivery."""

    def __init__(self, raw: object) -> None:
        self.raw = raw
        self.told: list[tuple[str, str]] = []  # (rows, [id, model, followed]) as the trigger wrote them
        self.overflowed = False  # or told of an entry it cannot vouch for: nothing is kept until the next delivery

    def __call__(self, diagnostic: Any) -> None:
        if diagnostic.message_primary != NOTICE_MESSAGE:
            return
        if len(self.told) >= BUFFER_LIMIT:
            self.told.clear()
            self.overflowed = True
        if not self.overflowed:
            self.told.append((diagnostic.message_detail, diagnostic.message_hint))


def with_startup_option(params: dict[str, Any]) -> dict[str, Any]:
    """psycopg's connection parameters, with the session setting that has the triggers tell this writer."""
    if get_config().writer_notices:
        params["options"] = f"{params.get('options') or ''} {STARTUP_OPTION}".strip()
    return params


def start_sessions_told() -> None:
    """Have every PostgreSQL backend's connections start with the setting (from ready(); once per class)."""
    for config in settings.DATABASES.values():
        if not config.get("ENGINE"):
            continue  # Django reports it
        wrapper_class = load_backend(config["ENGINE"]).DatabaseWrapper
        if wrapper_class.vendor != "postgresql" or getattr(wrapper_class, "_cache_sync_tells", False):
            continue
        get_connection_params = wrapper_class.get_connection_params

        def told_connection_params(self: BaseDatabaseWrapper, get: Any = get_connection_params) -> dict[str, Any]:
            return with_startup_option(get(self))

        wrapper_class.get_connection_params = told_connection_params
        wrapper_class._cache_sync_tells = True


def listen(connection: BaseDatabaseWrapper) -> None:
    """Keep the messages of the connection's driver connection (connection_created, PostgreSQL)."""
    raw = connection.connection
    notices = getattr(connection, _ATTRIBUTE, None)
    if raw is None or (notices is not None and notices.raw is raw):
        return
    notices = _Notices(raw)
    raw.add_notice_handler(notices)
    setattr(connection, _ATTRIBUTE, notices)
    if not vars(connection).get("_cache_sync_rollbacks_drop_told"):
        vars(connection)["_cache_sync_rollbacks_drop_told"] = True
        _forget_at_rollbacks(connection)


def _forget_at_rollbacks(connection: BaseDatabaseWrapper) -> None:
    """Drop what a rolled-back transaction or savepoint was told (wrapping this connection's own methods)."""
    wrapper: Any = connection  # the private methods every rollback goes through (django-stubs types none)
    rollback, savepoint, savepoint_rollback = wrapper._rollback, wrapper._savepoint, wrapper._savepoint_rollback
    marks: dict[str, int] = {}  # savepoint id -> how many entries were told when it was set

    def _told() -> _Notices | None:
        notices: _Notices | None = getattr(connection, _ATTRIBUTE, None)
        return notices if notices is not None and notices.raw is connection.connection else None

    def rollback_and_forget() -> None:
        rollback()
        marks.clear()
        if (notices := _told()) is not None:
            notices.told.clear()

    def savepoint_and_mark(sid: str) -> None:
        savepoint(sid)
        notices = _told()
        marks[sid] = len(notices.told) if notices is not None else 0

    def savepoint_rollback_and_forget(sid: str) -> None:
        savepoint_rollback(sid)
        if (notices := _told()) is not None and sid in marks:
            del notices.told[marks[sid] :]

    wrapper._rollback = rollback_and_forget
    wrapper._savepoint = savepoint_and_mark
    wrapper._savepoint_rollback = savepoint_rollback_and_forget


def read_back_next(using: str) -> None:
    """After a delivery that failed: the next one reads this writer's entries back (the failed ones with them)."""
    notices: _Notices | None = getattr(connections[using], _ATTRIBUTE, None)
    if notices is not None:
        notices.told.clear()
        notices.overflowed = True


def recorded_here(using: str, entry: Change, session_tells: bool) -> None:
    """An entry written by this process itself (explicit keys): kept with the told ones when the session's
    triggers tell (the setting is on), else the next delivery reads back."""
    notices: _Notices | None = getattr(connections[using], _ATTRIBUTE, None)
    if notices is None or notices.raw is not connections[using].connection:
        return
    if session_tells and not notices.overflowed:
        notices.told.append((json.dumps(entry.rows), json.dumps([entry.id, entry.model, {}])))
    else:
        notices.overflowed = True


def take(using: str, labels: Collection[str]) -> tuple[list[Change], Followed] | None:
    """The entries this connection was told since the last call, of the models `labels`, with their followed
    paths; None when it was told none (its delivery then reads the outbox)."""
    connection = connections[using]
    notices: _Notices | None = getattr(connection, _ATTRIBUTE, None)
    if notices is None or notices.raw is not connection.connection:
        return None
    told = notices.told
    notices.told, notices.overflowed = [], False
    if not told:  # told nothing, or nothing kept since an overflow
        return None
    changes: list[Change] = []
    followed: Followed = {}
    incomplete: set[tuple[str, tuple[str, ...]]] = set()
    by_label: dict[str, set[str]] = {}  # the paths followed, per model, by every entry of it so far
    for rows, hint in told:
        id, model, paths = json.loads(hint, parse_float=Decimal)
        if model not in labels:
            continue  # another release's model: left for a process that renders it
        parsed = json.loads(rows)
        changes.append(Change(id, model, parsed if isinstance(parsed, list) else [parsed]))
        seen = by_label.setdefault(model, set(paths))
        for name in seen ^ set(paths):  # followed by some entries of the model, not by all
            incomplete.add((model, tuple(name.split("."))))
        seen |= set(paths)
        for name, pairs in paths.items():
            key = (model, tuple(name.split(".")))
            if pairs is None:
                incomplete.add(key)
            else:
                followed.setdefault(key, []).extend(pairs)
    # A path some entry could not follow is read after the commit for all of them (delivery/affected.py).
    for key in incomplete:
        followed.pop(key, None)
    return changes, followed
