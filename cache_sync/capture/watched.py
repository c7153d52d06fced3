"""Which tables the rules watch, and which of their columns a trigger records.

For each configured model: the columns its key templates start from (old and
new values are recorded), the columns whose change matters, the unique column
sets an SQLite `INSERT OR REPLACE` may conflict on; for each many-to-many table
that links a configured model, its configured sides.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, cast

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models.fields.reverse_related import ForeignObjectRel
from django.db.models.options import Options

from ..conf import Config, Rule, get_config
from .followed import StatementFollow

if TYPE_CHECKING:  # importing it needs django.contrib.contenttypes installed
    from django.contrib.contenttypes.fields import GenericForeignKey


@dataclass(frozen=True)
class WatchedTable:
    """A configured model's table: which columns to record, and which changes matter."""

    table: str
    label: str
    key_columns: tuple[tuple[str, str], ...]  # (name in the outbox entry, column); ("pk", ...) first
    change_columns: tuple[str, ...]
    unique_columns: tuple[tuple[str, ...], ...] = ()  # each set a REPLACE may conflict on (SQLite), pk first
    follows: tuple[StatementFollow, ...] = ()  # paths its triggers follow themselves (PostgreSQL: followed.py)


@dataclass(frozen=True)
class WatchedLinks:
    """A many-to-many table: each configured side is recorded by its primary key."""

    table: str
    sides: tuple[tuple[str, str], ...]  # (label of the linked model, column)


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
    key_fields = {_column_field(opts, path[0]) for template in rule.keys for path in template.paths}
    key_columns = [("pk", opts.pk.column)]
    key_columns += sorted((f.attname, f.column) for f in key_fields if not f.primary_key)
    changing: list[models.Field[Any, Any] | ForeignObjectRel | GenericForeignKey]
    if rule.fields is None:
        changing = [f for f in opts.concrete_fields]
    else:
        changing = [opts.get_field(name) for name in rule.fields] + list(key_fields)
    # Only a Field is concrete (a reverse relation or a generic foreign key has no column).
    change_columns = sorted(
        {f.column for f in changing if isinstance(f, models.Field) and f.concrete and not f.many_to_many}
        | {opts.pk.column}
    )
    return WatchedTable(opts.db_table, rule.model, tuple(key_columns), tuple(change_columns), _unique_columns(opts))


def _column_field(opts: Options[Any], name: str) -> models.Field[Any, Any]:
    # A name a key template starts from, or a unique constraint lists, is a field of the model: a name
    # that is not (a reverse relation) fails at its .column, as it always has, not here.
    return cast("models.Field[Any, Any]", opts.get_field(name))


def _unique_columns(opts: Options[Any]) -> tuple[tuple[str, ...], ...]:
    """The column sets of the table's unique constraints on plain fields (not conditions or expressions)."""
    sets: list[tuple[str, ...]] = [(opts.pk.column,)]
    sets += [(f.column,) for f in opts.concrete_fields if f.unique and not f.primary_key]
    for names in opts.unique_together:
        sets.append(tuple(_column_field(opts, name).column for name in names))
    for constraint in opts.total_unique_constraints:
        sets.append(tuple(_column_field(opts, name).column for name in constraint.fields))
    return tuple(dict.fromkeys(sets))


def restricted_to_columns(
    watched: WatchedTable | WatchedLinks, columns: set[str]
) -> WatchedTable | WatchedLinks | None:
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
