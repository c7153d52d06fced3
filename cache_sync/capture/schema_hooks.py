"""Triggers follow the schema inside the migration run, around each operation on a table.

An SQLite table rebuild (`AlterField`, most `AddField`/`RemoveField`, constraints)
drops the table's triggers; SQLite refuses to drop a column a trigger names; on
PostgreSQL a trigger function that names a dropped or renamed column makes every
later write of the table fail. So, as django-pgtrigger does with its schema
editor mixin, the schema editor of each database is wrapped: before an operation
on a table, the table's managed triggers are dropped; after it, they are
re-created from the columns the table has then (a rule's column that does not
exist yet is left out: its entries carry the primary key, and delivery reads the
rest from the row). A write between two operations (a data migration) is
recorded, no operation fails because of a trigger, and at the end of `migrate`
the triggers are those of the rules (post_migrate finds nothing to do).

Other apps register their own per-table triggers (`register_table_triggers`): the
site's version triggers survive an SQLite rebuild the same way.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Protocol

from django.conf import settings
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.models import Model
from django.db.utils import load_backend


class TableTriggers(Protocol):
    """Triggers one app keeps on tables, dropped and re-created around schema operations."""

    def drop(self, schema_editor: BaseDatabaseSchemaEditor, table: str) -> None: ...

    def create(self, schema_editor: BaseDatabaseSchemaEditor, table: str, columns: frozenset[str]) -> None:
        """Install this app's triggers of `table`, naming none but `columns` (idempotent)."""


class _OutboxTriggers:
    def drop(self, schema_editor: BaseDatabaseSchemaEditor, table: str) -> None:
        from .triggers import drop_table_triggers

        drop_table_triggers(schema_editor, table)

    def create(self, schema_editor: BaseDatabaseSchemaEditor, table: str, columns: frozenset[str]) -> None:
        from .triggers import create_table_triggers

        create_table_triggers(schema_editor, table)


_sources: list[TableTriggers] = [_OutboxTriggers()]


def register_table_triggers(source: TableTriggers) -> None:
    """Keep `source`'s triggers through the schema operations of every migration (once per source)."""
    if source not in _sources:
        _sources.append(source)


def _table_columns(schema_editor: BaseDatabaseSchemaEditor, table: str) -> frozenset[str] | None:
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        if table not in connection.introspection.table_names(cursor):
            return None
        return frozenset(column.name for column in connection.introspection.get_table_description(cursor, table))


def drop_triggers_of(schema_editor: BaseDatabaseSchemaEditor, table: str) -> None:
    if _table_columns(schema_editor, table) is None:
        return
    for source in _sources:
        source.drop(schema_editor, table)


def create_triggers_of(schema_editor: BaseDatabaseSchemaEditor, table: str) -> None:
    columns = _table_columns(schema_editor, table)
    if columns is None:
        return  # dropped (DeleteModel), or not created in this run
    for source in _sources:
        source.create(schema_editor, table, columns)


_Tables = tuple[list[str], list[str]]  # the tables an operation touches: before it, after it


def _around(method: Callable[..., Any], tables: Callable[..., _Tables]) -> Callable[..., Any]:
    """Wrap a schema editor method: `tables(*args)` gives (tables before, tables after) the operation."""

    @functools.wraps(method)
    def wrapper(self: BaseDatabaseSchemaEditor, *args: Any, **kwargs: Any) -> Any:
        before, after = tables(*args, **kwargs)
        for table in before:
            drop_triggers_of(self, table)
        result = method(self, *args, **kwargs)
        for table in after:
            create_triggers_of(self, table)
        return result

    return wrapper


def _own_table(model: type[Model], *args: Any, **kwargs: Any) -> _Tables:
    return [model._meta.db_table], [model._meta.db_table]


def _renamed_table(model: type[Model], old_db_table: str, new_db_table: str, *args: Any, **kwargs: Any) -> _Tables:
    return [old_db_table], [new_db_table]


def _deleted_table(model: type[Model], *args: Any, **kwargs: Any) -> _Tables:
    return [model._meta.db_table], []


_WRAPPED: dict[str, Callable[..., _Tables]] = {
    "create_model": _own_table,
    "add_field": _own_table,
    "remove_field": _own_table,
    "alter_field": _own_table,
    "add_constraint": _own_table,
    "remove_constraint": _own_table,
    "alter_unique_together": _own_table,
    "alter_db_table": _renamed_table,
    "delete_model": _deleted_table,
    "_remake_table": _own_table,  # SQLite: also the rebuilds of related tables an AlterField causes
}


def following_schema_editor(schema_editor_class: type) -> type:
    """A subclass of `schema_editor_class` whose table operations keep the triggers in line."""
    if getattr(schema_editor_class, "follows_triggers", False):
        return schema_editor_class
    namespace: dict[str, object] = {"follows_triggers": True, "__module__": __name__}
    for name, tables in _WRAPPED.items():
        if hasattr(schema_editor_class, name):
            namespace[name] = _around(getattr(schema_editor_class, name), tables)
    return type(schema_editor_class.__name__, (schema_editor_class,), namespace)


def follow_schema_in_migrations(vendors: tuple[str, ...]) -> None:
    """Wrap the schema editor of every configured database backend of these vendors (from ready())."""
    for config in settings.DATABASES.values():
        if not config.get("ENGINE"):
            continue  # Django reports it
        wrapper_class = load_backend(config["ENGINE"]).DatabaseWrapper
        if wrapper_class.vendor in vendors and wrapper_class.SchemaEditorClass is not None:
            wrapper_class.SchemaEditorClass = following_schema_editor(wrapper_class.SchemaEditorClass)
