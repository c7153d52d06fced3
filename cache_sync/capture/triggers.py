"""The change-recording triggers in the database: which the rules want, which are installed, and making them match.

Generated from the rules (watched.py says which tables and columns, trigger_sql.py
writes the SQL): for each configured model, triggers on its table record the
columns its key templates read, old and new, whenever a relevant column
changes; for each many-to-many table that links a configured model, the linked
rows. Installed after `migrate` (post_migrate), by `manage.py cache_sync
triggers install`, and around each schema operation on a watched table inside
`migrate` (schema_hooks.py); always from the columns the table has then. A
trigger keeps its name (`cache_sync_<table>_<event>`) and carries the hash of its
SQL (trigger_ddl.py): installed with other SQL it is outdated, and re-installing
replaces it in the same transaction as the rest. A `cache_sync_` trigger no rule
wants (a rule removed, or one named by an older release, whose names carried the
hash) is orphaned: `install` and `prune` drop it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from django.apps import apps
from django.db import connections, router, transaction
from django.db.backends.base.schema import BaseDatabaseSchemaEditor

from ..conf import Config, get_config
from ..models import OUTBOX_TABLE
from . import trigger_ddl
from .followed import statement_follows
from .trigger_ddl import InstalledTrigger, Trigger, drop_statements
from .trigger_sql import NOTIFY_CHANNEL, OWNER, PREFIX, expected_triggers
from .watched import WatchedLinks, WatchedTable, restricted_to_columns, watched_table_names, watched_tables

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


def installed_triggers(using: str) -> dict[str, InstalledTrigger]:
    """The cache_sync triggers in the database, by name, with their table and the hash they were installed with."""
    if connections[using].vendor not in SUPPORTED_VENDORS:
        return {}
    return trigger_ddl.installed_triggers(using, OWNER)


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


def triggers_for(using: str, config: Config | None = None, *, not_reading: str = "") -> list[Trigger]:
    """The triggers the rules need on database `using` (tables that exist and are migrated there), naming
    only columns that exist; `not_reading`: a table they must not name (about to be altered)."""
    connection = connections[using]
    if connection.vendor not in SUPPORTED_VENDORS:
        return []
    config = config or get_config()
    with connection.cursor() as cursor:
        existing = set(connection.introspection.table_names(cursor))
        if OUTBOX_TABLE not in existing:
            return []
        columns_of: dict[str, set[str]] = {}

        def columns(table: str) -> set[str]:
            if table not in columns_of:
                description = connection.introspection.get_table_description(cursor, table)
                columns_of[table] = {column.name for column in description}
            return columns_of[table]

        watched = []
        for table in watched_tables(config):
            if table.table not in existing or not _allowed(using, table):
                continue
            if (restricted := restricted_to_columns(table, columns(table.table))) is None:
                continue
            if isinstance(restricted, WatchedTable):
                follows = tuple(
                    follow
                    for follow in statement_follows(restricted.label, using, config)
                    if follow.table in existing
                    and follow.table != not_reading
                    and set(follow.columns) <= columns(follow.table)
                )
                restricted = replace(restricted, follows=follows)
            watched.append(restricted)
    return expected_triggers(connection.vendor, watched)


def _allowed(using: str, watched: WatchedTable | WatchedLinks) -> bool:
    labels = [watched.label] if isinstance(watched, WatchedTable) else [label for label, _c in watched.sides]
    return any(router.allow_migrate_model(using, apps.get_model(label)) for label in labels)


@dataclass(frozen=True)
class TriggerDiff:
    current: tuple[Trigger, ...]  # wanted, and installed with this SQL
    outdated: tuple[Trigger, ...]  # wanted, and installed under its name with other SQL (a rule or table changed)
    missing: tuple[Trigger, ...]  # wanted, not installed
    orphaned: tuple[InstalledTrigger, ...]  # installed, and wanted by no rule

    @property
    def to_install(self) -> tuple[Trigger, ...]:
        return self.outdated + self.missing

    @property
    def matches(self) -> bool:
        return not (self.outdated or self.missing or self.orphaned)

    def describe(self) -> str:
        return (
            f"{len(self.current)} current, {len(self.outdated)} outdated, {len(self.missing)} missing, "
            f"{len(self.orphaned)} orphaned"
        )


def compare_triggers(using: str, config: Config | None = None) -> TriggerDiff:
    wanted = triggers_for(using, config)
    installed = installed_triggers(using)
    names = {trigger.name for trigger in wanted}
    return TriggerDiff(
        current=tuple(t for t in wanted if t.name in installed and installed[t.name].hash == t.hash),
        outdated=tuple(t for t in wanted if t.name in installed and installed[t.name].hash != t.hash),
        missing=tuple(t for t in wanted if t.name not in installed),
        orphaned=tuple(found for name, found in sorted(installed.items()) if name not in names),
    )


def install_triggers(using: str, config: Config | None = None) -> TriggerDiff:
    """Drop the orphaned triggers, create the missing ones and replace the outdated ones, in one transaction:
    a write either fires the triggers as they were or as they are after (it waits for the locks), never none."""
    diff = compare_triggers(using, config)
    connection = connections[using]
    with transaction.atomic(using=using), connection.cursor() as cursor:
        for found in diff.orphaned:
            for statement in drop_statements(connection.vendor, found.name, found.table):
                cursor.execute(statement)
        for trigger in diff.to_install:
            for statement in trigger.statements:
                cursor.execute(statement)
    return diff


def prune_triggers(using: str, config: Config | None = None) -> tuple[InstalledTrigger, ...]:
    """Drop the cache_sync triggers no rule wants (and only those), in one transaction."""
    orphaned = compare_triggers(using, config).orphaned
    connection = connections[using]
    with transaction.atomic(using=using), connection.cursor() as cursor:
        for found in orphaned:
            for statement in drop_statements(connection.vendor, found.name, found.table):
                cursor.execute(statement)
    return orphaned


def drop_table_triggers(schema_editor: BaseDatabaseSchemaEditor, table: str) -> None:
    """Before a schema operation on `table`: drop its cache_sync triggers, and replace those of other tables
    that read it (a followed path) by triggers that do not, so no write fails if a column they name goes."""
    connection = schema_editor.connection
    if connection.vendor not in SUPPORTED_VENDORS:
        return
    for name, found in installed_triggers(connection.alias).items():
        if found.table == table:
            for statement in drop_statements(connection.vendor, name, table):
                schema_editor.execute(statement, params=None)
    readers = {trigger.name for trigger in triggers_for(connection.alias) if table in trigger.reads}
    for trigger in triggers_for(connection.alias, not_reading=table):
        if trigger.name in readers:
            _run(schema_editor, trigger)


def create_table_triggers(schema_editor: BaseDatabaseSchemaEditor, table: str) -> None:
    """Install the triggers the rules need on `table` as it is now (after a schema operation on it), and
    those of other tables that read it."""
    drop_table_triggers(schema_editor, table)
    for trigger in triggers_for(schema_editor.connection.alias):
        if trigger.table == table or table in trigger.reads:
            _run(schema_editor, trigger)


def _run(schema_editor: BaseDatabaseSchemaEditor, trigger: Trigger) -> None:
    for statement in trigger.statements:
        schema_editor.execute(statement, params=None)


def install_after_migrate(sender: object, using: str, **kwargs: object) -> None:
    """post_migrate receiver: keep the triggers in step with the rules and the tables."""
    install_triggers(using)
