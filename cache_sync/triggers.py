"""Database triggers that record every change of a watched table in the outbox.

Generated from the rules: for each configured model, triggers on its table write
the columns its key templates read (old and new values, as the database saw
them) whenever a relevant column changes; for each many-to-many table that links
a configured model, triggers record the linked rows. Installed after `migrate`
(post_migrate) and by `manage.py cache_sync install-triggers`; a trigger's name
carries a hash of its SQL, so a changed rule shows as missing and stale ones are
dropped. PostgreSQL gets statement-level triggers with transition tables (one
INSERT ... SELECT per statement, however many rows), SQLite row-level ones.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db import connections, models, router, transaction

from .affected import TRUNCATED
from .conf import Config, Rule, get_config
from .models import OUTBOX_TABLE

PREFIX = "cache_sync_"
NOTIFY_CHANNEL = "cache_sync_outbox"
SUPPORTED_VENDORS = ("postgresql", "sqlite")


@dataclass(frozen=True)
class WatchedTable:
    """A configured model's table: which columns to record, and which changes matter."""

    table: str
    label: str
    key_columns: tuple[tuple[str, str], ...]  # (name in the outbox entry, column); ("pk", ...) first
    change_columns: tuple[str, ...]
    unique_columns: tuple[tuple[str, ...], ...] = ()  # each set a REPLACE may conflict on (SQLite), pk first


@dataclass(frozen=True)
class WatchedLinks:
    """A many-to-many table: each configured side is recorded by its primary key."""

    table: str
    sides: tuple[tuple[str, str], ...]  # (label of the linked model, column)


@dataclass(frozen=True)
class Trigger:
    name: str
    table: str
    statements: tuple[str, ...]


def watched_tables(config: Config | None = None) -> list[WatchedTable | WatchedLinks]:
    config = config or get_config()
    watched: list[WatchedTable | WatchedLinks] = []
    for rule in config.rules:
        model = _model(rule.model)
        try:
            if model is not None:
                watched.append(_watched_table(rule, model))
        except FieldDoesNotExist:
            continue  # reported by the system checks
    configured = {rule.model for rule in config.rules}
    for model in apps.get_models():
        for field in model._meta.local_many_to_many:
            sides = [
                (side._meta.label, column)
                for side, column in (
                    (field.model, field.m2m_column_name()),
                    (field.remote_field.model, field.m2m_reverse_name()),
                )
                if side._meta.label in configured
            ]
            if sides:
                watched.append(WatchedLinks(field.m2m_db_table(), tuple(sides)))
    return watched


def watched_table_names(config: Config | None = None) -> frozenset[str]:
    return frozenset(w.table for w in watched_tables(config))


def _model(label: str) -> type[models.Model] | None:
    try:
        return apps.get_model(label)
    except (LookupError, ValueError):
        return None  # reported by the system checks


def _watched_table(rule: Rule, model: type[models.Model]) -> WatchedTable:
    opts = model._meta
    key_fields = {opts.get_field(path[0]) for template in rule.keys for path in template.paths}
    key_columns = [("pk", opts.pk.column)]
    key_columns += sorted((f.attname, f.column) for f in key_fields if not f.primary_key)
    if rule.fields is None:
        changing = [f for f in opts.concrete_fields]
    else:
        changing = [opts.get_field(name) for name in rule.fields] + list(key_fields)
    change_columns = sorted({f.column for f in changing if f.concrete and not f.many_to_many} | {opts.pk.column})
    return WatchedTable(opts.db_table, rule.model, tuple(key_columns), tuple(change_columns), _unique_columns(opts))


def _unique_columns(opts) -> tuple[tuple[str, ...], ...]:
    """The column sets of the table's unique constraints on plain fields (not conditions or expressions)."""
    sets = [(opts.pk.column,)]
    sets += [(f.column,) for f in opts.concrete_fields if f.unique and not f.primary_key]
    for names in opts.unique_together:
        sets.append(tuple(opts.get_field(name).column for name in names))
    for constraint in opts.total_unique_constraints:
        sets.append(tuple(opts.get_field(name).column for name in constraint.fields))
    return tuple(dict.fromkeys(sets))


def expected_triggers(vendor: str, watched: list[WatchedTable | WatchedLinks]) -> list[Trigger]:
    build = {"postgresql": _postgresql_triggers, "sqlite": _sqlite_triggers}[vendor]
    triggers = [trigger for table in watched for trigger in build(table)]
    if vendor == "postgresql" and watched:
        triggers.append(_pg_outbox_truncate_trigger())
    return triggers


def _name(table: str, operation: str, statements: list[str]) -> str:
    digest = hashlib.sha1("\n".join(statements).encode()).hexdigest()[:10]
    return f"{PREFIX}{table[:32]}_{operation[0].lower()}_{digest}"


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# SQLite: one row-level trigger per table and operation.


def _sqlite_json(table: WatchedTable, row: str) -> str:
    pairs = ", ".join(f"{_literal(name)}, {row}.{_q(column)}" for name, column in table.key_columns)
    return f"json_object({pairs})"


def _sqlite_changed(columns, old="OLD", new="NEW") -> str:
    return "(" + " OR ".join(f"{old}.{_q(c)} IS NOT {new}.{_q(c)}" for c in columns) + ")"


def _sqlite_insert(label: str, data: str, where: str = "") -> str:
    return f"INSERT INTO {OUTBOX_TABLE} (model, data) SELECT {_literal(label)}, {data}{where};"


def _sqlite_triggers(watched: WatchedTable | WatchedLinks) -> list[Trigger]:
    if isinstance(watched, WatchedLinks):
        by_operation = {
            "INSERT": [_sqlite_insert(label, f"json_object('pk', NEW.{_q(c)})") for label, c in watched.sides],
            "DELETE": [_sqlite_insert(label, f"json_object('pk', OLD.{_q(c)})") for label, c in watched.sides],
            "UPDATE": [
                _sqlite_insert(label, f"json_object('pk', {row}.{_q(c)})")
                for label, c in watched.sides
                for row in ("OLD", "NEW")
            ],
        }
        conditions = {}
    else:
        label, keys = watched.label, [column for _name, column in watched.key_columns]
        by_operation = {
            "INSERT": [_sqlite_insert(label, _sqlite_json(watched, "NEW"))],
            "DELETE": [_sqlite_insert(label, _sqlite_json(watched, "OLD"))],
            "UPDATE": [
                _sqlite_insert(label, _sqlite_json(watched, "OLD")),
                _sqlite_insert(label, _sqlite_json(watched, "NEW"), f" WHERE {_sqlite_changed(keys)}"),
            ],
        }
        conditions = {"UPDATE": f" WHEN {_sqlite_changed(watched.change_columns)}"}
        if watched.unique_columns:
            by_operation["REPLACE"] = [_sqlite_replaced(watched)]
    triggers = []
    for operation, body in by_operation.items():
        when = conditions.get(operation, "")
        name = _name(watched.table, operation, [when, *body])
        timing = "BEFORE INSERT" if operation == "REPLACE" else f"AFTER {operation}"
        statement = (
            f"CREATE TRIGGER {_q(name)} {timing} ON {_q(watched.table)} FOR EACH ROW{when} BEGIN {' '.join(body)} END"
        )
        triggers.append(Trigger(name, watched.table, (statement,)))
    return triggers


def _sqlite_replaced(watched: WatchedTable) -> str:
    """The rows an INSERT would conflict with, recorded before it: `INSERT OR REPLACE` deletes them
    without firing DELETE triggers (unless recursive_triggers is on). A plain INSERT that conflicts
    fails and takes this record with it; one that does not finds nothing."""
    conflicts = " OR ".join(
        "(" + " AND ".join(f"old.{_q(column)} = NEW.{_q(column)}" for column in group) + ")"
        for group in watched.unique_columns
    )
    return (
        f"INSERT INTO {OUTBOX_TABLE} (model, data) SELECT {_literal(watched.label)}, {_sqlite_json(watched, 'old')} "
        f"FROM {_q(watched.table)} AS old WHERE {conflicts};"
    )


# PostgreSQL: one statement-level trigger (and its function) per table and operation.


def _pg_json(table: WatchedTable, row: str) -> str:
    pairs = ", ".join(f"{_literal(name)}, {row}.{_q(column)}" for name, column in table.key_columns)
    return f"jsonb_build_object({pairs})"


def _pg_insert(label: str, select: str) -> str:
    # One entry per statement: the rows as one JSON list, so a statement that changes
    # thousands of rows costs one outbox row to write, read and delete.
    return (
        f"INSERT INTO {OUTBOX_TABLE} (model, data, writer) "
        f"SELECT {_literal(label)}, rows::text, pg_backend_pid() "
        f"FROM (SELECT jsonb_agg(data) AS rows FROM ({select}) AS changes) AS statement WHERE rows IS NOT NULL;"
    )


OUTBOX_TRUNCATED = "cache_sync.outbox_truncated"  # set for the transaction by a TRUNCATE of the outbox


def _pg_truncated(label: str) -> str:
    # No rows to name: an entry that means "every key of the rule" (affected.py). Unless the same
    # statement empties the outbox (Django's flush, the test runner): that discards every pending
    # entry too, and whoever flushes the database clears the cache.
    return (
        f"INSERT INTO {OUTBOX_TABLE} (model, data, writer) "
        f"SELECT {_literal(label)}, {_literal(json.dumps([{TRUNCATED: True}]))}, pg_backend_pid() "
        f"WHERE current_setting({_literal(OUTBOX_TRUNCATED)}, true) IS DISTINCT FROM 'on';"
    )


def _pg_outbox_truncate_trigger() -> Trigger:
    """BEFORE TRUNCATE on the outbox: all BEFORE TRUNCATE triggers of a statement fire before its AFTER ones."""
    body = f"PERFORM set_config({_literal(OUTBOX_TRUNCATED)}, 'on', true);"
    name = _name(OUTBOX_TABLE, "TRUNCATE", [body])
    function = (
        f"CREATE OR REPLACE FUNCTION {_q(name)}() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN {body} RETURN NULL; END $$"
    )
    trigger = (
        f"CREATE TRIGGER {_q(name)} BEFORE TRUNCATE ON {_q(OUTBOX_TABLE)} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {_q(name)}()"
    )
    return Trigger(name, OUTBOX_TABLE, (function, trigger))


def _pg_update_select(table: WatchedTable) -> str:
    pk = _q(table.key_columns[0][1])
    row_o = "ROW(" + ", ".join(f"o.{_q(c)}" for c in table.change_columns) + ")"
    row_n = "ROW(" + ", ".join(f"n.{_q(c)}" for c in table.change_columns) + ")"
    changed = f"{row_o} IS DISTINCT FROM {row_n}"
    # Old values of changed rows, and new values where they differ (UNION drops the duplicates).
    return (
        f"SELECT {_pg_json(table, 'o')} AS data FROM old_rows o LEFT JOIN new_rows n ON n.{pk} = o.{pk} "
        f"WHERE n.{pk} IS NULL OR {changed} "
        f"UNION SELECT {_pg_json(table, 'n')} FROM new_rows n LEFT JOIN old_rows o ON o.{pk} = n.{pk} "
        f"WHERE o.{pk} IS NULL OR {changed}"
    )


def _postgresql_triggers(watched: WatchedTable | WatchedLinks) -> list[Trigger]:
    if isinstance(watched, WatchedLinks):

        def links(*tables: str) -> list[str]:
            return [
                _pg_insert(label, f"SELECT jsonb_build_object('pk', r.{_q(c)}) AS data FROM {rows} r")
                for label, c in watched.sides
                for rows in tables
            ]

        by_operation = {
            "INSERT": links("new_rows"),
            "DELETE": links("old_rows"),
            "UPDATE": links("old_rows", "new_rows"),
        }
    else:
        label = watched.label
        by_operation = {
            "INSERT": [_pg_insert(label, f"SELECT {_pg_json(watched, 'r')} AS data FROM new_rows r")],
            "DELETE": [_pg_insert(label, f"SELECT {_pg_json(watched, 'r')} AS data FROM old_rows r")],
            "UPDATE": [_pg_insert(label, _pg_update_select(watched))],
        }
    labels = [watched.label] if isinstance(watched, WatchedTable) else [label for label, _c in watched.sides]
    by_operation["TRUNCATE"] = [_pg_truncated(label) for label in labels]
    transition = {
        "INSERT": " REFERENCING NEW TABLE AS new_rows",
        "DELETE": " REFERENCING OLD TABLE AS old_rows",
        "UPDATE": " REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
        "TRUNCATE": "",
    }
    triggers = []
    for operation, body in by_operation.items():
        name = _name(watched.table, operation, body)
        # NOTIFY is delivered at commit, once per transaction: it wakes the relays.
        function = (
            f"CREATE OR REPLACE FUNCTION {_q(name)}() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"DECLARE recorded boolean := false; BEGIN "
            + " ".join(f"{statement} recorded := recorded OR FOUND;" for statement in body)
            + f" IF recorded THEN PERFORM pg_notify({_literal(NOTIFY_CHANNEL)}, ''); END IF; RETURN NULL; END $$"
        )
        trigger = (
            f"CREATE TRIGGER {_q(name)} AFTER {operation} ON {_q(watched.table)}"
            f"{transition[operation]} FOR EACH STATEMENT EXECUTE FUNCTION {_q(name)}()"
        )
        triggers.append(Trigger(name, watched.table, (function, trigger)))
    return triggers


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
                if (restricted := _restricted(table, columns)) is not None:
                    watched.append(restricted)
    return expected_triggers(connection.vendor, watched)


def _restricted(watched: WatchedTable | WatchedLinks, columns: set[str]) -> WatchedTable | WatchedLinks | None:
    """The table as it is now (mid-migration, the models may name a column not added yet, or renamed).

    A trigger names only columns that exist, so no write fails; a recorded row lacking a
    key column gets it from the database at delivery (affected._complete).
    """
    if isinstance(watched, WatchedLinks):
        sides = tuple(side for side in watched.sides if side[1] in columns)
        return replace(watched, sides=sides) if sides else None
    if watched.key_columns[0][1] not in columns:
        return None
    return replace(
        watched,
        key_columns=tuple(key for key in watched.key_columns if key[1] in columns),
        change_columns=tuple(column for column in watched.change_columns if column in columns),
        unique_columns=tuple(group for group in watched.unique_columns if set(group) <= columns),
    )


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
            for statement in _drop_statements(connection.vendor, name, table):
                cursor.execute(statement)
        for trigger in diff.missing:
            for statement in trigger.statements:
                cursor.execute(statement)
    return diff


def _drop_statements(vendor: str, name: str, table: str) -> list[str]:
    if vendor == "postgresql":
        return [f"DROP TRIGGER IF EXISTS {_q(name)} ON {_q(table)}", f"DROP FUNCTION IF EXISTS {_q(name)}()"]
    return [f"DROP TRIGGER IF EXISTS {_q(name)}"]


def drop_table_triggers(schema_editor, table: str) -> None:
    """Drop the cache_sync triggers of `table` (before a schema operation on it)."""
    connection = schema_editor.connection
    if connection.vendor not in SUPPORTED_VENDORS:
        return
    for name, on in installed_triggers(connection.alias).items():
        if on == table:
            for statement in _drop_statements(connection.vendor, name, table):
                schema_editor.execute(statement, params=None)


def create_table_triggers(schema_editor, table: str) -> None:
    """Install the triggers the rules need on `table` as it is now (after a schema operation on it)."""
    drop_table_triggers(schema_editor, table)
    for trigger in triggers_for(schema_editor.connection.alias):
        if trigger.table == table:
            for statement in trigger.statements:
                schema_editor.execute(statement, params=None)


def install_after_migrate(sender, using: str, **kwargs) -> None:
    """post_migrate receiver: keep the triggers in step with the rules and the tables."""
    install_triggers(using)
