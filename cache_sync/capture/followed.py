"""The relations a writer's delivery follows (`{category.slug}`), read in one statement with its entries.

On PostgreSQL the writer reads its outbox entries and, in the same statement,
the values at the end of each path through a relation for the ids those entries
name (outbox.pending_of_this_writer): one round trip instead of one per path.
Each path's query is the ORM's own (`values_list(target, "category__slug")`),
with its ids taken from the entries (the CTE `mine`), so it reads the database
as it is after the writer's commit, like the query it replaces.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db import connections, models
from django.db.models.expressions import RawSQL

from ..conf import Config

ENTRIES_CTE = "mine"  # the name outbox.pending_of_this_writer gives the entries it reads
STATEMENT_ROWS = "cs_rows"  # the trigger function's variable: the rows of its statement as one JSON list


@dataclass(frozen=True)
class Follow:
    label: str  # the changed model
    path: tuple[str, ...]  # ("category", "slug")
    sql: str  # (target id, value) pairs for the ids the entries of `label` name
    params: tuple[object, ...]


def follow_queries(config: Config, labels: frozenset[str], using: str) -> tuple[Follow, ...]:
    """Each path through a relation of the rules of `labels` (PostgreSQL only; empty elsewhere)."""
    if connections[using].vendor != "postgresql":
        return ()
    return _follow_queries(config, labels, using)


@lru_cache(maxsize=16)  # once per configuration, labels and database
def _follow_queries(config: Config, labels: frozenset[str], using: str) -> tuple[Follow, ...]:
    follows = []
    for label in sorted(labels):
        rule = config.rules_by_model.get(label)
        if rule is None:
            continue
        model = apps.get_model(label)
        for path in sorted({path for template in rule.keys for path in template.paths if len(path) > 1}):
            follows.append(_follow(model, label, path, using))
    return tuple(follows)


def _follow(model: type[models.Model], label: str, path: tuple[str, ...], using: str) -> Follow:
    relation: Any = model._meta.get_field(path[0])  # a ForeignKey: the rule's path starts at one
    cast = relation.target_field.rel_db_type(connections[using])
    ids = RawSQL(
        f"SELECT DISTINCT (r.value ->> %s)::{cast} FROM {ENTRIES_CTE} m, jsonb_array_elements("
        f"CASE WHEN m.model = %s THEN m.data::jsonb ELSE '[]'::jsonb END) AS r(value)",
        (relation.attname, label),
    )
    sql, params = _pairs_query(relation, path, ids, using)
    return Follow(label, path, sql, tuple(params))


def _pairs_query(relation: Any, path: tuple[str, ...], ids: RawSQL, using: str) -> tuple[str, tuple[Any, ...]]:
    """The ORM's query of (target id, value at the end of `path`) for the targets `ids` selects."""
    target = relation.target_field.attname if relation.target_field.attname != "id" else "pk"
    manager = relation.related_model._base_manager.using(using)
    queryset = manager.filter(**{f"{target}__in": ids}).order_by().values_list(target, "__".join(path[1:]))
    sql, params = queryset.query.get_compiler(using).as_sql()
    return sql, tuple(params)


@dataclass(frozen=True)
class StatementFollow:
    """A path a PostgreSQL trigger follows itself, for the rows of its statement (trigger_sql.py).

    Its value is the [target id, value] pairs of the targets the rows name, each locked
    `FOR SHARE` until the writer's transaction ends: a followed value read at the
    statement cannot change before the writer's commit (a concurrent rename waits), so
    the writer may render keys from it without reading the database again. A target
    already locked by another writer (`SKIP LOCKED`: never waited for, so never a
    deadlock) or missing makes the value null, and the writer reads that path after
    its commit (delivery/affected.py), as it does without triggers that follow; so does
    a transaction above READ COMMITTED, which the lock could fail.
    """

    path: tuple[str, ...]  # ("category", "slug")
    table: str  # the related model's table: a schema operation on it re-creates the trigger
    columns: tuple[str, ...]  # the columns of `table` the query names
    sql: str  # a jsonb expression over STATEMENT_ROWS

    @property
    def name(self) -> str:
        return ".".join(self.path)


def statement_follows(label: str, using: str, config: Config) -> tuple[StatementFollow, ...]:
    """The paths through one relation (`{category.slug}`) that the triggers of `label` can follow themselves.

    A longer path (a join, maybe an outer one, where `FOR SHARE` does not apply) or a base
    manager that filters (its query has parameters) is left to the writer's read after commit.
    """
    rule = config.rules_by_model.get(label)
    if rule is None or connections[using].vendor != "postgresql":
        return ()
    model = apps.get_model(label)
    follows = []
    for path in sorted({path for template in rule.keys for path in template.paths if len(path) == 2}):
        if (follow := _statement_follow(model, path, using)) is not None:
            follows.append(follow)
    return tuple(follows)


def _statement_follow(model: type[models.Model], path: tuple[str, ...], using: str) -> StatementFollow | None:
    try:
        relation: Any = model._meta.get_field(path[0])
        related = relation.related_model._meta.concrete_model
        end = related._meta.get_field(path[1])
    except (FieldDoesNotExist, AttributeError):
        return None  # reported by the system checks
    if not getattr(end, "concrete", False) or end.many_to_many or end.model._meta.concrete_model is not related:
        return None  # not a column of the related table itself (a reverse relation, a parent's field)
    cast = relation.target_field.rel_db_type(connections[using])
    element = f"(r.value ->> {_literal(relation.attname)})"
    rows = f"jsonb_array_elements({STATEMENT_ROWS}) AS r(value)"
    sql, params = _pairs_query(relation, path, RawSQL(f"SELECT {element}::{cast} FROM {rows}", ()), using)
    if params or "%" in sql:
        return None
    # Null unless every target the rows name was found and locked; and under REPEATABLE READ or
    # SERIALIZABLE, where locking a row changed since the snapshot fails the writer's statement.
    expression = (
        f"CASE WHEN current_setting('transaction_isolation') = 'read committed' THEN "
        f"(SELECT CASE WHEN count(*) = (SELECT count(DISTINCT {element}) FROM {rows}) "
        f"THEN COALESCE(jsonb_agg(jsonb_build_array(f.k, f.v)), '[]'::jsonb) END "
        f"FROM (SELECT k, v FROM ({sql}) AS q(k, v) FOR SHARE SKIP LOCKED) AS f) END"
    )
    columns = (relation.target_field.column, end.column)
    return StatementFollow(path, related._meta.db_table, columns, expression)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
