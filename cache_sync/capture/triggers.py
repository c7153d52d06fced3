"""The change-recording triggers in the database: which the rules want, which are installed, and making them match.

Generated from the rules (watched.py says which tables and columns, trigger_sql.py
writes the SQL): for each configured model, triggers on its table record the
columns its key templates read, old and new, whenever a relevant column
changes; for each many-to-many table that links a configured model, the linked
rows. Installed after `migrate` (post_migrate), by `manage.py cache_sync
install-triggers`, and around each schema operation on a watched table inside
`migrate` (schema_hooks.py); always from the columns the table has then. A
trigger's name carries a hash of its SQL, so a changed rule shows a trigger as
outdated, and stale ones are dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps
from django.db import connections, router, transaction
from django.db.backends.base.schema import BaseDatabaseSchemaEditor

from ..conf import Config
from ..models import OUTBOX_TABLE
from .trigger_sql import NOTIFY_CHANNEL, PREFIX, drop_statements, expected_triggers
from .watched import Trigger, WatchedLinks, WatchedTable, restricted_to_columns, watched_table_names, watched_tables

__all__ = [  # the SQL and the watched tables live in trigger_sql.py and watched.py
    "NOTIFY_CHANNEL",
    "PREFIX",
    "SUPPORTED_VENDORS",
    "Trigger",
    "expected_triggers",
    "watched_table_names",
    "watched_tables",
]

SUPPORTED_VENDORS = ("postgresql", "sqlite")

# Installed state.


def installed_triggers(using: str) -> dict[str, str]:
    """Name -> table of the cache_sync triggers in the database."""
    connection = connections[using]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT t.tgname, c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                "WHERE NOT t.tgisinternal AND t.tgname LIKE %s AND pg_table_is_visible(c.oid)",
                [PREFIX.replace("_", "\\_") + "%"],
            )
        elif connection.vendor == "sqlite":
            cursor.execute(
                "SELECT name, tbl_name FROM sqlite_master WHERE type = 'trigger' AND name LIKE %s ESCAPE '\\'",
                [PREFIX.replace("_", "\\_") + "%"],
            )
        else:
            return {}
        return dict(cursor.fetchall())


def silent_triggers(using: str) -> tuple[str, list[str]]:
    """(this connection's session_replication_role, the cache_sync triggers that do not fire for it).

    PostgreSQL fires a trigger enabled as ORIGIN (the default) unless the session is a replica
    (logical-replication apply, `pg_restore --disable-triggers`, a pooler that sets it), one
    enabled as REPLICA only then, ALWAYS always, and a DISABLED one never.
    """
    connection = connections[using]
    if connection.vendor != "postgresql":
        return "origin", []
    with connection.cursor() as cursor:
        cursor.execute("SHOW session_replication_role")
        role = cursor.fetchone()[0]
        cursor.execute(
            "SELECT t.tgname, t.tgenabled FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE NOT t.tgisinternal AND t.tgname LIKE %s AND pg_table_is_visible(c.oid) ORDER BY t.tgname",
            [PREFIX.replace("_", "\\_") + "%"],
        )
        firing = ("R", "A") if role == "replica" else ("O", "A")
        return role, [name for name, enabled in cursor.fetchall() if enabled not in firing]


def triggers_for(using: str, config: Config | None = None) -> list[Trigger]:
    """The triggers the rules need on database `using` (tables that exist and are migrated there)."""
    connection = connections[using]
    if connection.vendor not in SUPPORTED_VENDORS:
        return []
    with connection.cursor() as cursor:
        existing = set(connection.introspection.table_names(cursor))
        if OUTBOX_TABLE not in existing:
            return []
        watched = []
        for table in watched_tables(config):
            if table.table in existing and _allowed(using, table):
                columns = {c.name for c in connection.introspection.get_table_description(cursor, table.table)}
                if (restricted := restricted_to_columns(table, columns)) is not None:
                    watched.append(restricted)
    return expected_triggers(connection.vendor, watched)


def _allowed(using: str, watched: WatchedTable | WatchedLinks) -> bool:
    labels = [watched.label] if isinstance(watched, WatchedTable) else [label for label, _c in watched.sides]
    return any(router.allow_migrate_model(using, apps.get_model(label)) for label in labels)


def _stem(name: str) -> str:
    return name.rsplit("_", 1)[0]  # the table and operation, without the hash of the SQL


@dataclass(frozen=True)
class TriggerDiff:
    missing: tuple[Trigger, ...]
    stale: tuple[tuple[str, str], ...]  # (name, table) installed but no longer wanted
    installed: tuple[str, ...] = ()  # wanted and installed as wanted

    @property
    def outdated(self) -> tuple[Trigger, ...]:
        """Wanted triggers installed with other SQL (a changed rule or table: same table and operation)."""
        stale = {_stem(name) for name, _table in self.stale}
        return tuple(t for t in self.missing if _stem(t.name) in stale)

    @property
    def absent(self) -> tuple[Trigger, ...]:
        """Wanted triggers with no version of them installed."""
        outdated = set(self.outdated)
        return tuple(t for t in self.missing if t not in outdated)

    def describe(self) -> str:
        return f"{len(self.installed)} installed, {len(self.outdated)} outdated, {len(self.absent)} missing"


def compare_triggers(using: str, config: Config | None = None) -> TriggerDiff:
    wanted = triggers_for(using, config)
    installed = installed_triggers(using)
    names = {trigger.name for trigger in wanted}
    return TriggerDiff(
        missing=tuple(t for t in wanted if t.name not in installed),
        stale=tuple((name, table) for name, table in sorted(installed.items()) if name not in names),
        installed=tuple(t.name for t in wanted if t.name in installed),
    )


def install_triggers(using: str, config: Config | None = None) -> TriggerDiff:
    """Create the missing triggers and drop the stale ones, in one transaction."""
    diff = compare_triggers(using, config)
    connection = connections[using]
    with transaction.atomic(using=using), connection.cursor() as cursor:
        for name, table in diff.stale:
            for statement in drop_statements(connection.vendor, name, table):
                cursor.execute(statement)
        for trigger in diff.missing:
            for statement in trigger.statements:
                cursor.execute(statement)
    return diff


def drop_table_triggers(schema_editor: BaseDatabaseSchemaEditor, table: str) -> None:
    """Drop the cache_sync triggers of `table` (before a schema operation on it)."""
    connection = schema_editor.connection
    if connection.vendor not in SUPPORTED_VENDORS:
        return
    for name, on in installed_triggers(connection.alias).items():
        if on == table:
            for statement in drop_statements(connection.vendor, name, table):
                schema_editor.execute(statement, params=None)


def create_table_triggers(schema_editor: BaseDatabaseSchemaEditor, table: str) -> None:
    """Install the triggers the rules need on `table` as it is now (after a schema operation on it)."""
    drop_table_triggers(schema_editor, table)
    for trigger in triggers_for(schema_editor.connection.alias):
        if trigger.table == table:
            for statement in trigger.statements:
                schema_editor.execute(statement, params=None)


def install_after_migrate(sender: object, using: str, **kwargs: object) -> None:
    """post_migrate receiver: keep the triggers in step with the rules and the tables."""
    install_triggers(using)
