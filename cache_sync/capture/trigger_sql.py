"""The SQL of the triggers, generated from the watched tables.

A trigger is named by its table and event (`cache_sync_<table>_<event>`) and carries
the hash of its SQL beside it (trigger_ddl.py), so a changed rule or table shows the
trigger as outdated and re-installing replaces it. PostgreSQL gets statement-level
triggers with transition tables (one INSERT ... SELECT per statement, however
many rows), and one for TRUNCATE, each skipped while the transaction is
suspended (api.suspended); SQLite row-level ones, and a BEFORE INSERT one for
`INSERT OR REPLACE`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import replace

from ..models import OUTBOX_TABLE
from .followed import STATEMENT_ROWS, StatementFollow
from .trigger_ddl import Trigger, postgresql_trigger, sqlite_trigger
from .watched import WatchedLinks, WatchedTable

OWNER = "cache_sync"
PREFIX = f"{OWNER}_"
NOTIFY_CHANNEL = "cache_sync_outbox"
SUSPENDED = "cache_sync.suspended"  # 'on' for a transaction whose writes record nothing (api.suspended)
OWN_ENTRIES = "cache_sync.own_entries"  # 'on' for a session told its own entries (delivery/own_entries.py)
NOTICE_MESSAGE = "cache_sync entry"  # the notice's text; detail: the rows; hint: [id, model, {path: pairs or null}]
EVENTS = {"INSERT": "insert", "UPDATE": "update", "DELETE": "delete", "TRUNCATE": "truncate", "REPLACE": "replace"}


def expected_triggers(vendor: str, watched: list[WatchedTable | WatchedLinks]) -> list[Trigger]:
    build = {"postgresql": _postgresql_triggers, "sqlite": _sqlite_triggers}[vendor]
    triggers = [trigger for table in watched for trigger in build(table)]
    if vendor == "postgresql" and watched:
        triggers.append(_pg_outbox_truncate_trigger())
    return triggers


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# SQLite: one row-level trigger per table and operation.


def _sqlite_json(table: WatchedTable, row: str) -> str:
    pairs = ", ".join(f"{_literal(name)}, {row}.{_q(column)}" for name, column in table.key_columns)
    return f"json_object({pairs})"


def _sqlite_changed(columns: Iterable[str], old: str = "OLD", new: str = "NEW") -> str:
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
        conditions = {"UPDATE": _sqlite_changed(watched.change_columns)}
        if watched.unique_columns:
            by_operation["REPLACE"] = [_sqlite_replaced(watched)]
    triggers = []
    for operation, body in by_operation.items():
        timing = "BEFORE INSERT" if operation == "REPLACE" else f"AFTER {operation}"
        when = conditions.get(operation, "")
        triggers.append(
            sqlite_trigger(OWNER, watched.table, EVENTS[operation], timing=timing, body=" ".join(body), when=when)
        )
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


# PL/pgSQL variables of the trigger functions (prefixed: never a column name of a watched table).
ROWS = STATEMENT_ROWS  # the followed paths' queries read the statement's rows from it
TEXT, ENTRY, RECORDED, OWN = "cs_text", "cs_entry", "cs_recorded", "cs_own"


def _pg_record(label: str, rows: str, follows: tuple[StatementFollow, ...] = ()) -> str:
    """Record `rows` (an expression: the statement's rows as one jsonb list, or NULL for none) as one entry.

    One entry per statement, however many rows it changed: a statement of thousands costs one
    outbox row to write and delete. A session that reads its own entries (OWN_ENTRIES) is also
    told the entry, with its followed paths, in a message that comes back with the statement's
    answer (delivery/own_entries.py): its writer need not read the outbox after the commit.
    Level INFO: PostgreSQL sends it to the client whatever client_min_messages is, and does
    not write it to the server's log unless log_min_messages asks for INFO.
    """
    followed = "'{}'::jsonb"
    if follows:
        followed = "jsonb_build_object(" + ", ".join(f"{_literal(f.name)}, {f.sql}" for f in follows) + ")"
    # The rows as recorded (the detail), apart from what JSON parses with Decimals (the hint).
    hint = f"'[' || {ENTRY} || ',' || {_literal(json.dumps(label))} || ',' || {followed}::text || ']'"
    return (
        f"{ROWS} := ({rows}); "
        f"IF {ROWS} IS NOT NULL THEN {TEXT} := {ROWS}::text; "
        f"INSERT INTO {OUTBOX_TABLE} (model, data, writer) VALUES ({_literal(label)}, {TEXT}, pg_backend_pid()) "
        f"RETURNING id INTO {ENTRY}; {RECORDED} := true; "
        f"IF {OWN} THEN RAISE INFO USING MESSAGE = {_literal(NOTICE_MESSAGE)}, DETAIL = {TEXT}, HINT = {hint}; "
        f"END IF; END IF;"
    )


def _pg_rows(select: str) -> str:
    return f"SELECT jsonb_agg(data) FROM ({select}) AS changes"


PLANNER_SETTINGS = " SET enable_nestloop = off"
# In the trigger's WHEN, so a suspended transaction's statements do not even call the function.
NOT_SUSPENDED = f"current_setting({_literal(SUSPENDED)}, true) IS DISTINCT FROM 'on'"
TRUNCATED = "truncated"  # a recorded row {"truncated": true}: the table was truncated, every key of the rule
OUTBOX_TRUNCATED = "cache_sync.outbox_truncated"  # set for the transaction by a TRUNCATE of the outbox


def _pg_truncated(label: str) -> str:
    # No rows to name: an entry that means "every key of the rule" (affected.py). Unless the same
    # statement empties the outbox (Django's flush, the test runner): that discards every pending
    # entry too, and whoever flushes the database clears the cache.
    everything = _literal(json.dumps([{TRUNCATED: True}]))
    return _pg_record(
        label,
        f"CASE WHEN current_setting({_literal(OUTBOX_TRUNCATED)}, true) IS DISTINCT FROM 'on' "
        f"THEN {everything}::jsonb END",
    )


def _pg_outbox_truncate_trigger() -> Trigger:
    """BEFORE TRUNCATE on the outbox: all BEFORE TRUNCATE triggers of a statement fire before its AFTER ones."""
    body = f"PERFORM set_config({_literal(OUTBOX_TRUNCATED)}, 'on', true);"
    function = f"LANGUAGE plpgsql AS $$ BEGIN {body} RETURN NULL; END $$"
    return postgresql_trigger(
        OWNER, OUTBOX_TABLE, "truncate", timing="BEFORE TRUNCATE", function=function, level="STATEMENT"
    )


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
                _pg_record(label, _pg_rows(f"SELECT jsonb_build_object('pk', r.{_q(c)}) AS data FROM {rows} r"))
                for label, c in watched.sides
                for rows in tables
            ]

        by_operation = {
            "INSERT": links("new_rows"),
            "DELETE": links("old_rows"),
            "UPDATE": links("old_rows", "new_rows"),
        }
    else:
        label, follows = watched.label, watched.follows
        selects = {
            "INSERT": f"SELECT {_pg_json(watched, 'r')} AS data FROM new_rows r",
            "DELETE": f"SELECT {_pg_json(watched, 'r')} AS data FROM old_rows r",
            "UPDATE": _pg_update_select(watched),
        }
        by_operation = {
            operation: [_pg_record(label, _pg_rows(select), follows)] for operation, select in selects.items()
        }
    labels = [watched.label] if isinstance(watched, WatchedTable) else [label for label, _c in watched.sides]
    by_operation["TRUNCATE"] = [_pg_truncated(label) for label in labels]
    transition = {
        "INSERT": " REFERENCING NEW TABLE AS new_rows",
        "DELETE": " REFERENCING OLD TABLE AS old_rows",
        "UPDATE": " REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
        "TRUNCATE": "",
    }
    # The UPDATE statement joins its transition tables. PL/pgSQL plans a statement without parameters
    # once, at its first call, and keeps that plan: made while the tables held one row (a save), a nested
    # loop, quadratic once they hold thousands (1,000 rows: 75 ms, 10,000: 6.8 s). Without nested
    # loops the planner takes a hash join, linear at any size and no dearer for one row.
    planner = {"UPDATE": PLANNER_SETTINGS} if isinstance(watched, WatchedTable) else {}
    triggers = []
    variables = (
        f"DECLARE {ROWS} jsonb; {TEXT} text; {ENTRY} bigint; {RECORDED} boolean := false; "
        f"{OWN} boolean := current_setting({_literal(OWN_ENTRIES)}, true) = 'on'; "
    )
    for operation, body in by_operation.items():
        settings = planner.get(operation, "")
        # NOTIFY is delivered at commit, once per transaction: it wakes the relays.
        function = (
            f"LANGUAGE plpgsql{settings} AS $$ {variables}BEGIN "
            + " ".join(body)
            + f" IF {RECORDED} THEN PERFORM pg_notify({_literal(NOTIFY_CHANNEL)}, ''); END IF; RETURN NULL; END $$"
        )
        trigger = postgresql_trigger(
            OWNER,
            watched.table,
            EVENTS[operation],
            timing=f"AFTER {operation}",
            function=function,
            clauses=transition[operation],
            level=f"STATEMENT WHEN ({NOT_SUSPENDED})",
        )
        if isinstance(watched, WatchedTable) and watched.follows and operation != "TRUNCATE":
            trigger = replace(trigger, reads=tuple(sorted({follow.table for follow in watched.follows})))
        triggers.append(trigger)
    return triggers
