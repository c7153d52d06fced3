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
from django.db import connections, models
from django.db.models.expressions import RawSQL

from ..conf import Config

ENTRIES_CTE = "mine"  # the name outbox.pending_of_this_writer gives the entries it reads


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
    connection = connections[using]
    relation: Any = model._meta.get_field(path[0])  # a ForeignKey: the rule's path starts at one
    target = relation.target_field.attname if relation.target_field.attname != "id" else "pk"
    cast = relation.target_field.rel_db_type(connection)
    ids = RawSQL(
        f"SELECT DISTINCT (r.value ->> %s)::{cast} FROM {ENTRIES_CTE} m, jsonb_array_elements("
        f"CASE WHEN m.model = %s THEN m.data::jsonb ELSE '[]'::jsonb END) AS r(value)",
        (relation.attname, label),
    )
    manager = relation.related_model._base_manager.using(using)
    queryset = manager.filter(**{f"{target}__in": ids}).order_by().values_list(target, "__".join(path[1:]))
    sql, params = queryset.query.get_compiler(using).as_sql()
    return Follow(label, path, sql, tuple(params))
