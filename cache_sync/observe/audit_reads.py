"""What a block of code read from the database: tables and columns from the SQL, fields from the rows.

The audit (audit.py) needs, per model, the rows a page loaded and the fields it
depended on. A query that loads whole rows names every column, so for those
only the attributes actually read count (recorded by wrapping each field's
class attribute for the duration of the block); a column named in a `WHERE`,
`JOIN`, `ORDER BY` or `GROUP BY`, or in a select list of some columns only
(`values()`, `only()`), counts as read.
"""

from __future__ import annotations

import contextlib
import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.db import connections, models

_TABLE = re.compile(r'\b(?:FROM|JOIN)\s+"([^"]+)"(?:\s+(?:AS\s+)?([A-Z]\d+)\b)?', re.IGNORECASE)
_COLUMN = re.compile(r'(?:"([^"]+)"|\b([A-Z]\d+))\."([^"]+)"')


@dataclass
class Reads:
    tables: set[str] = field(default_factory=set)
    columns: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # table -> columns
    attributes: dict[type[models.Model], set[str]] = field(default_factory=lambda: defaultdict(set))  # field names
    instances: list[models.Model] = field(default_factory=list)
    statements: int = 0

    def add_sql(self, sql: str) -> None:
        if not sql.lstrip().upper().startswith("SELECT"):
            return
        self.statements += 1
        aliases = {}
        for table, alias in _TABLE.findall(sql):
            self.tables.add(table)
            if alias:
                aliases[alias] = table
        select_list, _, rest = sql.partition(" FROM ")
        for table, columns in _columns(select_list, aliases).items():
            if columns != _all_columns(table):  # some columns only: values(), only()
                self.columns[table] |= columns
        for table, columns in _columns(rest, aliases).items():
            self.columns[table] |= columns


def _columns(sql: str, aliases: dict[str, str]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = defaultdict(set)
    for quoted, alias, column in _COLUMN.findall(sql):
        found[quoted or aliases.get(alias, alias)].add(column)
    return found


def _all_columns(table: str) -> set[str]:
    model = models_by_table().get(table)
    return {f.column for f in model._meta.concrete_fields} if model else set()


def models_by_table() -> dict[str, type[models.Model]]:
    """Each table's concrete model (a proxy shares its table, and names no rows of its own)."""
    found: dict[str, type[models.Model]] = {}
    for model in apps.get_models(include_auto_created=True):
        if not model._meta.proxy:
            found.setdefault(model._meta.db_table, model)
    return found


class _RecordingAttribute:
    """Stands in for a field's class attribute: notes each read on an instance, delegates the rest."""

    def __init__(self, original: Any, name: str, reads: Reads) -> None:
        self.original, self.name, self.reads = original, name, reads

    def __get__(self, instance: models.Model | None, owner: type | None = None) -> Any:
        if instance is not None:
            self.reads.attributes[type(instance)].add(self.name)
        return self.original.__get__(instance, owner)

    def __set__(self, instance: models.Model, value: Any) -> None:
        if hasattr(self.original, "__set__"):
            self.original.__set__(instance, value)
        else:
            instance.__dict__[self.original.field.attname] = value


def _attributes_of(model: type[models.Model]) -> Iterator[tuple[str, str]]:
    """(class attribute, field name) of each field a page can read on an instance."""
    for f in model._meta.concrete_fields:
        if not f.primary_key:
            yield f.attname, f.name
            if f.name != f.attname:
                yield f.name, f.name  # the related object of a foreign key
    for f in model._meta.many_to_many:
        yield f.name, f.name


@contextlib.contextmanager
def recording_reads() -> Iterator[Reads]:
    """Record the block's SELECTs on every connection, the rows it loaded and the fields it read."""
    reads = Reads()
    patched: list[tuple[type, str, Any, bool]] = []

    def on_execute(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        reads.add_sql(sql)
        return execute(sql, params, many, context)

    original_from_db = models.Model.__dict__["from_db"]

    def from_db(cls: type[models.Model], db: str | None, field_names: Any, values: Any) -> models.Model:
        instance: models.Model = original_from_db.__func__(cls, db, field_names, values)
        reads.instances.append(instance)
        return instance

    with contextlib.ExitStack() as stack:
        for connection in connections.all():
            stack.enter_context(connection.execute_wrapper(on_execute))
        try:
            models.Model.from_db = classmethod(from_db)  # type: ignore[method-assign,assignment]
            for model in apps.get_models():
                for attribute, name in _attributes_of(model):
                    own = attribute in model.__dict__
                    original = next((k.__dict__[attribute] for k in model.__mro__ if attribute in k.__dict__), None)
                    if isinstance(original, _RecordingAttribute):
                        original = original.original  # a parent's, patched first
                    if not hasattr(original, "__get__"):
                        continue
                    patched.append((model, attribute, original, own))
                    setattr(model, attribute, _RecordingAttribute(original, name, reads))
            yield reads
        finally:
            models.Model.from_db = original_from_db  # type: ignore[method-assign]
            for model, attribute, original, own in reversed(patched):
                if own:
                    setattr(model, attribute, original)
                else:
                    delattr(model, attribute)
