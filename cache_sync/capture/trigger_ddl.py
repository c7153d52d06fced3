"""One idiom for triggers generated from declarations, on PostgreSQL and SQLite (django-pgtrigger's).

- A stable name, `<owner>_<table>_<event>`: a changed declaration replaces the trigger of
  that name; it does not add a new name and drop the old one.
- The hash of its SQL kept where the database keeps the trigger: on PostgreSQL
  `COMMENT ON TRIGGER ... IS '<owner>:<hash>'`; SQLite has no comments on objects,
  so the hash is a SQL comment inside the trigger's body, which `sqlite_master` keeps
  verbatim (an ALTER TABLE ... RENAME rewrites the table's name there, not the comment).
  "Installed and current" is the same name with the same hash.
- Its statements replace the trigger of that name: on PostgreSQL `CREATE OR REPLACE`
  (function and trigger; the trigger's SHARE ROW EXCLUSIVE lock lets readers on, where a
  DROP TRIGGER's ACCESS EXCLUSIVE one would stop them), on SQLite a DROP and a CREATE.
  The caller runs them in one transaction, so that no write falls between.

`table_trigger()` is the small public form, for an app that keeps triggers of its own
(the demo site's row versions); cache_sync's own triggers (trigger_sql.py) use the
vendor functions below.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from django.db import connections

MAX_NAME = 63  # PostgreSQL truncates a longer identifier, and the name would never match again
HASH_LENGTH = 16


@dataclass(frozen=True)
class Trigger:
    vendor: str
    name: str
    table: str
    event: str  # the name's last part: insert, update, delete, truncate, replace...
    statements: tuple[str, ...]  # replace any trigger of this name (run them in one transaction)
    hash: str  # of the SQL, as stored with the installed trigger
    reads: tuple[str, ...] = ()  # other tables its function names (a schema operation on one re-creates it)

    @property
    def drop(self) -> list[str]:
        return drop_statements(self.vendor, self.name, self.table)


@dataclass(frozen=True)
class InstalledTrigger:
    name: str
    table: str
    hash: str | None  # None: no hash of this owner's form (a trigger of an older release, or edited by hand)


def trigger_name(owner: str, table: str, event: str) -> str:
    name = f"{owner}_{table}_{event}"
    if len(name) <= MAX_NAME:
        return name
    # Still stable: the hash is of the table's name, which the cut would lose, not of the SQL.
    tag = hashlib.sha1(table.encode()).hexdigest()[:8]
    room = MAX_NAME - len(owner) - len(event) - len(tag) - 3
    return f"{owner}_{table[:room]}_{tag}_{event}"


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _digest(*parts: str) -> str:
    return hashlib.sha1("\n".join(parts).encode()).hexdigest()[:HASH_LENGTH]


def _marker(owner: str, digest: str) -> str:
    return f"{owner}:{digest}"


def postgresql_trigger(
    owner: str, table: str, event: str, *, timing: str, function: str, level: str = "ROW", clauses: str = ""
) -> Trigger:
    """`function` is the PL/pgSQL function's `LANGUAGE plpgsql ... AS $$ ... $$` part; `clauses` what
    goes between the table and `FOR EACH` (REFERENCING ...) and `timing` e.g. "AFTER UPDATE";
    `level` may carry a WHEN: "STATEMENT WHEN (...)"."""
    name = trigger_name(owner, table, event)
    create_function = f"CREATE OR REPLACE FUNCTION {_q(name)}() RETURNS trigger {function}"
    create_trigger = (
        f"CREATE OR REPLACE TRIGGER {_q(name)} {timing} ON {_q(table)}{clauses} "
        f"FOR EACH {level} EXECUTE FUNCTION {_q(name)}()"
    )
    digest = _digest(create_function, create_trigger)
    comment = f"COMMENT ON TRIGGER {_q(name)} ON {_q(table)} IS {_literal(_marker(owner, digest))}"
    return Trigger("postgresql", name, table, event, (create_function, create_trigger, comment), digest)


def sqlite_trigger(owner: str, table: str, event: str, *, timing: str, body: str, when: str = "") -> Trigger:
    """A row trigger: `body` its statements, `when` its condition ("" for none)."""
    name = trigger_name(owner, table, event)
    head = f"CREATE TRIGGER {_q(name)} {timing} ON {_q(table)} FOR EACH ROW{f' WHEN {when}' if when else ''}"
    digest = _digest(head, body)
    create = f"{head} BEGIN /* {_marker(owner, digest)} */ {body} END"
    return Trigger("sqlite", name, table, event, (f"DROP TRIGGER IF EXISTS {_q(name)}", create), digest)


def table_trigger(
    vendor: str, owner: str, table: str, event: str, *, timing: str, body: str, when: str = ""
) -> Trigger:
    """A row trigger that runs `body` (SQL statements naming OLD and NEW) when `when` holds.

    `when` is the vendor's own expression (PostgreSQL's `IS DISTINCT FROM`, SQLite's `IS NOT`).
    Run `trigger.statements` in one transaction to install or replace it, `trigger.drop` to
    remove it. Read back with `installed_triggers(using, owner)`.
    """
    if vendor == "postgresql":
        function = f"LANGUAGE plpgsql AS $$ BEGIN {body} RETURN NULL; END $$"
        level = f"ROW WHEN ({when})" if when else "ROW"
        return postgresql_trigger(owner, table, event, timing=timing, function=function, level=level)
    if vendor == "sqlite":
        return sqlite_trigger(owner, table, event, timing=timing, body=body, when=when)
    raise NotImplementedError(f"No triggers on {vendor}")


def drop_statements(vendor: str, name: str, table: str) -> list[str]:
    if vendor == "postgresql":
        return [f"DROP TRIGGER IF EXISTS {_q(name)} ON {_q(table)}", f"DROP FUNCTION IF EXISTS {_q(name)}()"]
    return [f"DROP TRIGGER IF EXISTS {_q(name)}"]


def installed_triggers(using: str, owner: str) -> dict[str, InstalledTrigger]:
    """The triggers whose name starts with `<owner>_`, by name, with the hash each was installed with."""
    connection = connections[using]
    like = f"{owner}_".replace("_", "\\_") + "%"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT t.tgname, c.relname, obj_description(t.oid, 'pg_trigger') "
                "FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                "WHERE NOT t.tgisinternal AND t.tgname LIKE %s AND pg_table_is_visible(c.oid)",
                [like],
            )
        elif connection.vendor == "sqlite":
            cursor.execute(
                "SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE %s ESCAPE '\\'",
                [like],
            )
        else:
            return {}
        rows = cursor.fetchall()
    digest = f"{re.escape(owner)}:([0-9a-f]{{{HASH_LENGTH}}})"
    # PostgreSQL: the comment is the marker, whole; SQLite: the marker opens the trigger's body.
    pattern = re.compile(digest if connection.vendor == "postgresql" else rf" BEGIN /\* {digest} \*/ ")
    found = {}
    for name, table, text in rows:
        match = pattern.fullmatch(text or "") if connection.vendor == "postgresql" else pattern.search(text or "")
        found[name] = InstalledTrigger(name, table, match.group(1) if match else None)
    return found
