"""`manage.py cache_sync triggers ls|install|prune` (and `install-triggers`, the older spelling of `install`)."""

from __future__ import annotations

import argparse

from django.core.management.base import CommandParser, OutputWrapper
from django.core.management.color import Style
from django.db import DEFAULT_DB_ALIAS

from cache_sync.capture.trigger_sql import PREFIX
from cache_sync.capture.triggers import compare_triggers, install_triggers, prune_triggers


def add_trigger_arguments(sub: argparse._SubParsersAction[CommandParser]) -> None:
    triggers = sub.add_parser("triggers", help="list, install or prune the triggers that record changes")
    actions = triggers.add_subparsers(dest="triggers_action", required=True)
    for name, help in (
        ("ls", "each trigger: table, event, and current, outdated, missing or orphaned"),
        ("install", "create the missing triggers, replace the outdated ones, drop the orphaned ones"),
        ("prune", "drop the cache_sync triggers no rule wants"),
    ):
        actions.add_parser(name, help=help).add_argument("--database", default=DEFAULT_DB_ALIAS)
    old = sub.add_parser("install-triggers", help="the same as `triggers install`")
    old.add_argument("--database", default=DEFAULT_DB_ALIAS)


def _event(name: str, table: str) -> str:
    """The event part of a stable name; "-" for another form (an older release's name with a hash in it)."""
    own = f"{PREFIX}{table}_"
    return name.removeprefix(own) if name.startswith(own) and "_" not in name.removeprefix(own) else "-"


def list_triggers(stdout: OutputWrapper, style: Style, database: str) -> None:
    diff = compare_triggers(database)
    rows = [(t.table, t.event, "current", t.name) for t in diff.current]
    rows += [(t.table, t.event, "outdated", t.name) for t in diff.outdated]
    rows += [(t.table, t.event, "missing", t.name) for t in diff.missing]
    rows += [(found.table, _event(found.name, found.table), "orphaned", found.name) for found in diff.orphaned]
    styles = {"current": style.SUCCESS, "outdated": style.WARNING, "missing": style.ERROR, "orphaned": style.WARNING}
    width = max([len("table"), *(len(row[0]) for row in rows)])
    stdout.write(f"{'table':<{width}}  {'event':<8}  {'state':<8}  name")
    for table, event, state, name in sorted(rows):
        stdout.write(f"{table:<{width}}  {event:<8}  {state:<8}  {name}", styles[state])
    stdout.write(f"Database {database!r}: {diff.describe()}.")


def install(stdout: OutputWrapper, style: Style, database: str) -> None:
    diff = install_triggers(database)
    stdout.write(
        style.SUCCESS(
            f"Created {len(diff.missing)} trigger(s), replaced {len(diff.outdated)}, dropped {len(diff.orphaned)} "
            f"on {database!r} (before: {diff.describe()})."
        )
    )


def prune(stdout: OutputWrapper, style: Style, database: str) -> None:
    dropped = prune_triggers(database)
    for found in dropped:
        stdout.write(f"dropped {found.name} on {found.table}")
    stdout.write(style.SUCCESS(f"Dropped {len(dropped)} orphaned trigger(s) on {database!r}."))


TRIGGER_ACTIONS = {"ls": list_triggers, "install": install, "prune": prune}
