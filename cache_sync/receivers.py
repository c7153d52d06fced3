"""Receivers: a statement hook on every database connection, and model signals as its safe points.

Every write a Django connection runs on a watched table (`save()`, `delete()`,
`QuerySet.update()`, `bulk_create()`, `bulk_update()`, many-to-many changes,
`loaddata`, raw SQL through `connection.cursor()`, data migrations) schedules the
delivery of its changes: after the commit inside a transaction, at once in
autocommit. An autocommit statement that returns rows (`INSERT ... RETURNING`
of a `save()`) is not finished until its rows are fetched, so its delivery
waits for the next safe point: the model signal that follows it (`post_save`,
`post_delete`, `m2m_changed`), the connection's next statement, or the end of
the request.
"""

from __future__ import annotations

import threading

from django.apps import apps
from django.core.signals import request_finished
from django.db import connections
from django.db.backends.signals import connection_created
from django.db.models import signals

from .conf import get_config
from .delivery import deliver_after_commit
from .triggers import watched_table_names

_WRITES = ("insert", "update", "delete", "replace", "merge", "with")

_deferred = threading.local()  # aliases with an autocommit write whose rows were not yet fetched


class WatchedWriteHook:
    """`connection.execute_wrappers` entry: after a write on a watched table, schedule its delivery."""

    tables: tuple[str, ...] = ()  # set from the rules by connect_receivers()

    def __call__(self, execute, sql, params, many, context):
        alias = context["connection"].alias
        deliver_deferred(alias)
        result = execute(sql, params, many, context)
        if self.tables and self.is_watched_write(sql):
            if context["connection"].in_atomic_block or "returning" not in sql.lower():
                deliver_after_commit(alias)
            else:
                setattr(_deferred, alias, True)
        return result

    def is_watched_write(self, sql: str) -> bool:
        if sql[:7].lstrip().lower().startswith(_WRITES):
            lowered = sql.lower()  # raw SQL may spell a table in any case
            return any(table in lowered for table in self.tables)
        return False


_hook = WatchedWriteHook()


def deliver_deferred(alias: str) -> None:
    if getattr(_deferred, alias, False):
        setattr(_deferred, alias, False)
        deliver_after_commit(alias)


def deliver_deferred_after_model_signal(sender, using: str, **kwargs) -> None:
    """post_save / post_delete / m2m_changed receiver: the ORM's write is complete here."""
    deliver_deferred(using)


def deliver_deferred_at_request_end(sender, **kwargs) -> None:
    for alias, deferred in list(vars(_deferred).items()):
        if deferred:
            deliver_deferred(alias)


def install_hook(sender=None, connection=None, **kwargs) -> None:
    """connection_created receiver; first in the list, so `execute_wrapper()` blocks never pop it."""
    wrappers = connection.execute_wrappers
    for wrapper in [w for w in wrappers if isinstance(w, WatchedWriteHook)]:
        wrappers.remove(wrapper)
    wrappers.insert(0, _hook)


_connected: list[tuple] = []


def connect_receivers() -> None:
    disconnect_receivers()
    _hook.tables = tuple(name.lower() for name in watched_table_names())
    connection_created.connect(install_hook, dispatch_uid="cache_sync:install_hook")
    for connection in connections.all(initialized_only=True):
        install_hook(connection=connection)
    request_finished.connect(deliver_deferred_at_request_end, dispatch_uid="cache_sync:request_finished")
    senders = [(signals.m2m_changed, None)]
    for rule in get_config().rules:
        try:
            model = apps.get_model(rule.model)
        except (LookupError, ValueError):
            continue  # reported by the system checks
        senders += [(signals.post_save, model), (signals.post_delete, model)]
    for signal, sender in senders:
        uid = f"cache_sync:deliver_deferred:{sender._meta.label if sender else 'any'}"
        signal.connect(deliver_deferred_after_model_signal, sender=sender, dispatch_uid=uid, weak=False)
        _connected.append((signal, sender, uid))


def disconnect_receivers() -> None:
    while _connected:
        signal, sender, uid = _connected.pop()
        signal.disconnect(sender=sender, dispatch_uid=uid)
