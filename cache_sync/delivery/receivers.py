"""Receivers: a statement hook on every database connection, and the points where it delivers.

Every write a Django connection runs on a watched table (`save()`, `delete()`,
`QuerySet.update()`, `bulk_create()`, `bulk_update()`, many-to-many changes,
`loaddata`, raw SQL through `connection.cursor()` however it is spelt or built,
data migrations) schedules the delivery of its changes: after the commit inside
an atomic block, at once in autocommit, after `connection.commit()` (or a raw
`COMMIT`) in a manual transaction. Django's `execute_wrappers` see `execute()`
and `executemany()` only, so the connection's cursors are given the rest:
`executescript()` (SQLite), `copy()` (psycopg) and `callproc()`.

On SQLite an autocommit statement that returns rows (`INSERT ... RETURNING` of a
`save()`, of any model, proxy or historical) is not finished, hence not
committed, until its rows are read: its delivery waits for its cursor to close
(the ORM closes it before `post_save`), or for the end of the request.
PostgreSQL returns every row, committed, from `execute()`.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from django.core.signals import request_finished
from django.db import connections
from django.db.backends.signals import connection_created

from ..capture.triggers import watched_table_names
from . import own_entries
from .delivery import deliver_after_commit, deliver_owed
from .statements import PLAIN_READS, Kind, classify, mentions_any, statement_text

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.db.backends.utils import CursorWrapper

    _CursorBase = CursorWrapper  # what the mixin is added to
else:
    _CursorBase = object

logger = logging.getLogger(__name__)

_deferred = threading.local()  # aliases with an autocommit write whose rows were not yet fetched (SQLite)
_ROWS_PENDING = "_cache_sync_rows_pending"  # set on a cursor whose statement is not finished


class WatchedWriteHook:
    """`connection.execute_wrappers` entry: after a write on a watched table, schedule its delivery.

    It never raises: the statement's own errors propagate unchanged, and a
    failure of its own is logged and leaves the change to the relay.
    """

    tables: frozenset[str] = frozenset()  # set from the rules by connect_receivers()

    def __call__(
        self, execute: Callable[..., object], sql: object, params: object, many: bool, context: Mapping[str, Any]
    ) -> object:
        result = execute(sql, params, many, context)
        if self.tables and not (type(sql) is str and sql.startswith(PLAIN_READS)):
            self.after_statement(sql, context["connection"], context["cursor"])
        return result

    def after_statement(
        self, sql: object, connection: BaseDatabaseWrapper, cursor: Any, *, script: bool = False
    ) -> None:
        self.schedule(self.classify(sql, connection, script), connection, cursor)

    def schedule(self, kind: Kind, connection: BaseDatabaseWrapper, cursor: Any) -> None:
        try:
            if kind is Kind.WRITE:
                if rows_pending(connection, cursor):
                    setattr(cursor, _ROWS_PENDING, True)
                    setattr(_deferred, connection.alias, True)
                else:
                    deliver_after_commit(connection.alias)
            elif kind is Kind.COMMIT and not connection.in_atomic_block:
                deliver_owed(connection.alias)
        except Exception:
            logger.exception("cache_sync could not schedule a delivery: the change is left to the relay")

    def classify(self, sql: object, connection: BaseDatabaseWrapper, script: bool) -> Kind:
        """What the statement may have done; a statement it cannot read counts as a write."""
        try:
            text = statement_text(sql, connection.connection)
            if text is None:
                return Kind.WRITE
            if script:
                return Kind.WRITE if mentions_any(text, self.tables) else Kind.OTHER
            return classify(text, self.tables)
        except Exception:
            logger.debug("Unreadable statement %r: counted as a write", type(sql), exc_info=True)
            return Kind.WRITE


_hook = WatchedWriteHook()


def rows_pending(connection: BaseDatabaseWrapper, cursor: Any) -> bool:
    """Whether an autocommit statement on SQLite may still be running (it returns rows not yet read)."""
    return connection.vendor == "sqlite" and not connection.in_atomic_block and cursor.description is not None


class WatchedCursorMixin(_CursorBase):
    """Added to the class of every cursor Django makes: the statements its execute wrappers do not see."""

    def executescript(self, script: str) -> object:
        result = self.cursor.executescript(script)
        if _hook.tables:
            _hook.after_statement(script, self.db, self, script=True)
        return result

    @contextlib.contextmanager
    def copy(self, statement: object, *args: Any, **kwargs: Any) -> Iterator[object]:
        base = None if args or kwargs else getattr(super(), "copy", None)  # Django's debug cursor logs it
        with (base or self.cursor.copy)(statement, *args, **kwargs) as copy:
            yield copy
        if _hook.tables:  # the COPY ends (and in autocommit commits) when its block does
            _hook.after_statement(statement, self.db, self)

    def callproc(self, procname: str, *args: Any, **kwargs: Any) -> object:
        result = super().callproc(procname, *args, **kwargs)
        if _hook.tables:  # a procedure may write anything
            _hook.schedule(Kind.WRITE, self.db, self)
        return result

    def close(self) -> object:
        result = self.cursor.close()
        if vars(self).pop(_ROWS_PENDING, False):
            setattr(_deferred, self.db.alias, False)
            try:
                deliver_after_commit(self.db.alias)
            except Exception:
                logger.exception("cache_sync could not deliver: the change is left to the relay")
        return result


@functools.cache
def watched_cursor_class(base: type[CursorWrapper]) -> type[CursorWrapper]:
    return type(f"Watched{base.__name__}", (WatchedCursorMixin, base), {})


def deliver_deferred_at_request_end(sender: object, **kwargs: object) -> None:
    """The last safe point for a statement whose cursor was never closed."""
    for alias, deferred in list(vars(_deferred).items()):
        if deferred:
            setattr(_deferred, alias, False)
            try:
                deliver_after_commit(alias)
            except Exception:
                logger.exception("cache_sync could not deliver: the change is left to the relay")


def install_hook(sender: object = None, *, connection: BaseDatabaseWrapper, **kwargs: object) -> None:
    """connection_created receiver; first in the list, so `execute_wrapper()` blocks never pop it."""
    wrappers = connection.execute_wrappers
    for wrapper in [w for w in wrappers if isinstance(w, WatchedWriteHook)]:
        wrappers.remove(wrapper)
    wrappers.insert(0, _hook)
    if connection.vendor == "postgresql":
        own_entries.listen(connection)
    if not vars(connection).get("_cache_sync_installed"):
        vars(connection)["_cache_sync_installed"] = True
        watch_cursors(connection)
        watch_commits(connection)


def watch_cursors(connection: BaseDatabaseWrapper) -> None:
    """Make the connection's cursors of a class that also watches `executescript()`, `copy()` and `callproc()`."""
    for name in ("make_cursor", "make_debug_cursor"):
        make = getattr(connection, name)

        def make_watched(cursor: object, make: Callable[[object], CursorWrapper] = make) -> CursorWrapper:
            wrapped = make(cursor)
            # A class is hashable: mypy checks type[X] against the instances' __hash__.
            wrapped.__class__ = watched_cursor_class(type(wrapped))  # type: ignore[arg-type]
            return wrapped

        setattr(connection, name, make_watched)


def watch_commits(connection: BaseDatabaseWrapper) -> None:
    """Deliver after the commits that Django's on_commit does not see: those of manual transactions.

    `connection.commit()` outside an atomic block, and `set_autocommit(True)`,
    which commits on SQLite.
    """
    commit, set_autocommit = connection.commit, connection.set_autocommit

    def commit_then_deliver() -> None:
        commit()
        _deliver_owed(connection.alias)

    def set_autocommit_then_deliver(autocommit: bool, *args: Any, **kwargs: Any) -> None:
        set_autocommit(autocommit, *args, **kwargs)
        if autocommit:
            _deliver_owed(connection.alias)

    # This connection's own methods, wrapped (mypy refuses any assignment to a method).
    connection.commit = commit_then_deliver  # type: ignore[method-assign]
    connection.set_autocommit = set_autocommit_then_deliver  # type: ignore[method-assign]


def _deliver_owed(alias: str) -> None:
    try:
        deliver_owed(alias)
    except Exception:
        logger.exception("cache_sync could not deliver: the change is left to the relay")


def connect_receivers() -> None:
    disconnect_receivers()
    _hook.tables = frozenset(name.lower() for name in watched_table_names())
    connection_created.connect(install_hook, dispatch_uid="cache_sync:install_hook")
    for connection in connections.all(initialized_only=True):
        install_hook(connection=connection)
    request_finished.connect(deliver_deferred_at_request_end, dispatch_uid="cache_sync:request_finished")


def disconnect_receivers() -> None:
    request_finished.disconnect(dispatch_uid="cache_sync:request_finished")
