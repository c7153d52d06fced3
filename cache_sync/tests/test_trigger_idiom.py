"""Stable trigger names, the hash of their SQL beside them, replacement in one transaction, `triggers ls|prune`."""

from __future__ import annotations

import threading
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection, connections

from cache_sync.capture import trigger_ddl
from cache_sync.capture.triggers import (
    compare_triggers,
    install_triggers,
    installed_triggers,
    prune_triggers,
    triggers_for,
)
from cache_sync.models import OutboxEntry
from cache_sync.tests import factories

pytestmark = pytest.mark.django_db(transaction=True)


def execute(*statements: str) -> None:
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def wanted(table: str, event: str) -> trigger_ddl.Trigger:
    return next(t for t in triggers_for("default") if (t.table, t.event) == (table, event))


def stored_marker(trigger: trigger_ddl.Trigger) -> str:
    """The text the database keeps with the trigger, read without cache_sync's own reader."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT obj_description(t.oid, 'pg_trigger') FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                "WHERE t.tgname = %s AND c.relname = %s",
                [trigger.name, trigger.table],
            )
        else:
            cursor.execute("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = %s", [trigger.name])
        return cursor.fetchone()[0]


def as_legacy(trigger: trigger_ddl.Trigger) -> str:
    """Put an older release's hash-named copy of `trigger` in its place; returns the old name."""
    legacy = f"cache_sync_{trigger.table}_{trigger.event[0]}_0123456789"
    execute(*trigger.drop)
    execute(*(statement.replace(trigger.name, legacy) for statement in trigger.statements))
    return legacy


def test_every_trigger_is_named_by_its_table_and_event():
    names = {(t.table, t.event): t.name for t in triggers_for("default")}
    assert names[("testapp_book", "update")] == "cache_sync_testapp_book_update"
    assert all(name == f"cache_sync_{table}_{event}" for (table, event), name in names.items())


def test_a_long_table_name_keeps_a_stable_name_postgresql_does_not_cut():
    long_a, long_b = "a" * 60 + "_first", "a" * 60 + "_second"
    name = trigger_ddl.trigger_name("cache_sync", long_a, "update")
    assert len(name) <= trigger_ddl.MAX_NAME and name.endswith("_update")
    assert name == trigger_ddl.trigger_name("cache_sync", long_a, "update")
    assert name != trigger_ddl.trigger_name("cache_sync", long_b, "update")


def test_the_hash_of_each_trigger_is_kept_where_the_database_keeps_the_trigger():
    trigger = wanted("testapp_book", "update")
    marker = f"cache_sync:{trigger.hash}"
    if connection.vendor == "postgresql":
        assert stored_marker(trigger) == marker  # COMMENT ON TRIGGER
    else:
        assert f"BEGIN /* {marker} */ " in stored_marker(trigger)  # SQLite keeps the CREATE's text
    assert installed_triggers("default")[trigger.name].hash == trigger.hash


def test_a_trigger_whose_hash_differs_is_outdated_until_replaced():
    trigger = wanted("testapp_book", "insert")
    other = "cache_sync:" + "0" * trigger_ddl.HASH_LENGTH
    if connection.vendor == "postgresql":
        execute(f'COMMENT ON TRIGGER "{trigger.name}" ON "{trigger.table}" IS \'{other}\'')
    else:
        execute(*(statement.replace(f"cache_sync:{trigger.hash}", other) for statement in trigger.statements))
    diff = compare_triggers("default")
    assert [t.name for t in diff.outdated] == [trigger.name] and trigger.name not in {t.name for t in diff.current}
    install_triggers("default")
    assert compare_triggers("default").matches and stored_marker(trigger).count(trigger.hash) == 1


def test_install_moves_an_older_releases_hash_named_trigger_to_its_stable_name():
    trigger = wanted("testapp_book", "update")
    legacy = as_legacy(trigger)
    diff = compare_triggers("default")
    assert [found.name for found in diff.orphaned] == [legacy] and [t.name for t in diff.missing] == [trigger.name]
    install_triggers("default")
    installed = installed_triggers("default")
    assert legacy not in installed and installed[trigger.name].hash == trigger.hash


def raced_writer(installed: threading.Event, outcome: list[str]) -> None:
    """Updates a book through the driver (no delivery: the entry stays), trying once without waiting on SQLite."""
    try:
        django_connection = connections["default"]
        django_connection.ensure_connection()
        raw = django_connection.connection
        cursor = raw.cursor()
        if django_connection.vendor == "postgresql":
            cursor.execute("SELECT pg_backend_pid()")
            outcome.append(f"pid {cursor.fetchone()[0]}")
            raw.autocommit = True
            cursor.execute("UPDATE testapp_book SET title = 'Raced' WHERE slug = 'odes'")  # waits for the lock
        else:
            cursor.execute("PRAGMA busy_timeout = 0")
            try:
                cursor.execute("UPDATE testapp_book SET title = 'Raced' WHERE slug = 'odes'")
            except Exception as refused:  # sqlite3.OperationalError: database is locked
                outcome.append(f"refused: {refused}")
                assert installed.wait(30)
                cursor.execute("PRAGMA busy_timeout = 20000")
                cursor.execute("UPDATE testapp_book SET title = 'Raced' WHERE slug = 'odes'")
            raw.commit()
        outcome.append("written")
    except BaseException as error:
        outcome.append(f"failed: {error!r}")
    finally:
        connections["default"].close()


def writer_waits_or_is_done(outcome: list[str]) -> bool:
    if "written" in outcome or any(o.startswith(("refused", "failed")) for o in outcome):
        return True
    pids = [int(o.split()[1]) for o in outcome if o.startswith("pid ")]
    if not pids:
        return False
    with connections["default"].cursor() as cursor:  # the installer's connection, inside its transaction
        cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", pids)
        row = cursor.fetchone()
    return row is not None and row[0] == "Lock"


def test_a_write_between_the_old_triggers_drop_and_the_new_ones_create_is_recorded():
    """The interleaving forced: the writer comes right after the installer dropped the old trigger."""
    factories.book(factories.shelf("poetry"), "odes")
    recorded_before = OutboxEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0
    trigger = wanted("testapp_book", "update")
    legacy = as_legacy(trigger)
    installed, outcome = threading.Event(), []
    writer = threading.Thread(target=raced_writer, args=(installed, outcome))

    def after_the_drop(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if sql.startswith("DROP TRIGGER") and legacy in sql and not writer.is_alive():
            writer.start()
            while not writer_waits_or_is_done(outcome):
                writer.join(0.01)
        return result

    try:
        with connection.execute_wrapper(after_the_drop):
            install_triggers("default")
    finally:
        installed.set()
        writer.join(30)
    assert "written" in outcome, outcome
    # The new trigger recorded it (the book's creation left its own, acknowledged entry before).
    assert OutboxEntry.objects.filter(model="testapp.Book", id__gt=recorded_before).exists()


def run(*args: str) -> str:
    out = StringIO()
    call_command("cache_sync", "triggers", *args, stdout=out)
    return out.getvalue()


def listed(output: str) -> dict[str, tuple[str, str, str]]:
    """name -> (table, event, state) from `triggers ls`."""
    rows = [line.split() for line in output.splitlines()[1:-1]]
    return {name: (table, event, state) for table, event, state, name in rows}


def test_ls_shows_each_trigger_current_outdated_missing_or_orphaned():
    outdated, missing = wanted("testapp_book", "insert"), wanted("testapp_book", "delete")
    other = "cache_sync:" + "0" * trigger_ddl.HASH_LENGTH
    if connection.vendor == "postgresql":
        execute(f'COMMENT ON TRIGGER "{outdated.name}" ON "{outdated.table}" IS \'{other}\'')
    else:
        execute(*(statement.replace(f"cache_sync:{outdated.hash}", other) for statement in outdated.statements))
    execute(*missing.drop)
    legacy = as_legacy(wanted("testapp_book", "update"))
    rows = listed(run("ls"))
    assert rows[outdated.name] == ("testapp_book", "insert", "outdated")
    assert rows[missing.name] == ("testapp_book", "delete", "missing")
    assert rows[legacy] == ("testapp_book", "-", "orphaned")
    assert rows["cache_sync_testapp_book_update"] == ("testapp_book", "update", "missing")
    assert rows["cache_sync_testapp_shelf_update"] == ("testapp_shelf", "update", "current")
    assert "1 outdated, 2 missing, 1 orphaned" in run("ls")
    run("install")
    assert {state for _table, _event, state in listed(run("ls")).values()} == {"current"}


@pytest.fixture
def foreign_trigger():
    """Another app's trigger on a watched table."""
    name = "audit_testapp_book_insert"
    if connection.vendor == "postgresql":
        execute(
            f'CREATE FUNCTION "{name}"() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$',
            f'CREATE TRIGGER "{name}" AFTER INSERT ON testapp_book FOR EACH ROW EXECUTE FUNCTION "{name}"()',
        )
    else:
        execute(f'CREATE TRIGGER "{name}" AFTER INSERT ON testapp_book BEGIN SELECT 1; END')
    yield name
    execute(*trigger_ddl.drop_statements(connection.vendor, name, "testapp_book"))


def test_prune_drops_the_cache_sync_triggers_no_rule_wants_and_nothing_else(foreign_trigger):
    before = set(installed_triggers("default"))
    legacy = as_legacy(wanted("testapp_book", "update"))
    dropped = prune_triggers("default")
    assert [found.name for found in dropped] == [legacy]
    assert set(installed_triggers("default")) == before - {"cache_sync_testapp_book_update"}
    assert foreign_trigger in trigger_ddl.installed_triggers("default", "audit")
    assert "Dropped 0 orphaned trigger(s)" in run("prune")
    install_triggers("default")


def test_installed_triggers_are_those_of_their_owner_only(foreign_trigger):
    assert foreign_trigger not in installed_triggers("default")
    assert set(trigger_ddl.installed_triggers("default", "audit")) == {foreign_trigger}
