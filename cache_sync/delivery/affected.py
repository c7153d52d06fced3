"""Which keys a set of recorded changes touches, rendered now from what the database holds.

A change carries the columns its templates start from (`slug`, `category_id`) as
they were written; paths through a relation (`{category.slug}`) are followed now,
at delivery, so a category renamed by a transaction that committed in between is
seen under its current name. Related objects (`related`) are read as key columns
only, streamed, never as model instances.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any, cast

from django.apps import apps
from django.db import models
from django.db.models.fields.related import RelatedField
from django.db.models.fields.reverse_related import ForeignObjectRel

from ..capture.outbox import KEYS_LABEL, Change, Followed, Row
from ..capture.trigger_sql import TRUNCATED
from ..conf import Config, Rule, get_config
from ..keys import KeyTemplate

FAN_OUT_CHUNK = 5000


@dataclass
class AffectedKeys:
    keys: dict[str, None] = field(default_factory=dict)  # the changed rows' own keys, ordered, unique
    rebuild: dict[str, None] = field(default_factory=dict)  # those whose rule says "rebuild"
    fan_out: list[Iterator[str]] = field(default_factory=list)  # related objects' keys, streamed

    def add(self, keys: Iterable[str], rebuild: bool = False) -> None:
        for key in keys:
            self.keys[key] = None
            if rebuild:
                self.rebuild[key] = None

    def all_keys(self) -> Iterator[str]:
        yield from self.keys
        for keys in self.fan_out:
            yield from keys


# Path -> (target id -> value at the path's end, the target ids asked for), for paths read with the entries.
ReadPaths = dict[tuple[str, ...], tuple[dict[object, object], set[object]]]


def affected_keys(
    changes: Iterable[Change], using: str, config: Config | None = None, followed: Followed | None = None
) -> AffectedKeys:
    """The keys of the changes; `followed` holds paths through relations already read with the entries
    (followed.py): those are not queried again, but for ids the entries did not name."""
    config = config or get_config()
    affected = AffectedKeys()
    rows_by_model: dict[str, list[Row]] = defaultdict(list)
    truncated: dict[str, None] = {}
    for change in changes:
        for row in change.rows:
            if change.model == KEYS_LABEL:
                affected.add(row.get("keys", ()))
            elif row.get(TRUNCATED):
                truncated[change.model] = None
            else:
                rows_by_model[change.model].append(row)
    for label in truncated:
        if (rule := config.rules_by_model.get(label)) is not None:
            affected.fan_out.append(_every_key_of(rule, config))
    for label, rows in rows_by_model.items():
        rule = config.rules_by_model.get(label)
        if rule is None:
            continue  # the rule was removed after the change was recorded
        model = apps.get_model(label)
        read = _read_with_entries(model, label, rows, followed) if followed else {}
        rows = _complete(model, rule, rows, using)
        affected.add(_render_rows(model, rule.keys, rows, using, read), rebuild=rule.rebuilds)
        for accessor, templates in rule.related:
            affected.fan_out.append(_related_keys(model, accessor, templates, [row["pk"] for row in rows], using))
    return affected


def _every_key_of(rule: Rule, config: Config) -> Iterator[str]:
    """After a TRUNCATE no row names the keys: every cached key a template of the rule matches.

    Found by SCAN, so only for this entry, which only a TRUNCATE writes (the statement
    hook does not take TRUNCATE for a write: the relay delivers it, off the write path).
    """
    from ..store.page_store import get_store

    templates = [*rule.keys, *(template for _accessor, related in rule.related for template in related)]
    yield from (template.text for template in templates if not template.paths)
    patterned = [template for template in templates if template.paths]
    if patterned:
        for key in get_store(config.cache_alias).cached_keys():
            if any(template.match(key) is not None for template in patterned):
                yield key


def row_values(rule: Rule, obj: models.Model) -> Row:
    """The values a trigger would record for `obj` as it is in memory."""
    names = {"pk"} | {_model_field(type(obj), path[0]).attname for t in rule.keys for path in t.paths}
    return {name: getattr(obj, name) for name in names}


def _model_field(model: type[models.Model], name: str) -> models.Field[Any, Any]:
    # A key path starts at a field of the model (checks.py, cache_sync.E014), read by its attname: a name
    # that is not a field (a reverse relation) fails there, as it always has, not here.
    return cast("models.Field[Any, Any]", model._meta.get_field(name))


def _relation(model: type[models.Model], name: str) -> RelatedField[Any, Any]:
    # A step of a path that goes on is a forward relation to one object (checks.py, cache_sync.E014).
    return cast("RelatedField[Any, Any]", model._meta.get_field(name))


def _resolved(related: type[models.Model] | str | None) -> type[models.Model]:
    """A relation's model: a class once the apps are loaded (a lazy "self" or "app.Model" before)."""
    assert isinstance(related, type)
    return related


def _complete(model: type[models.Model], rule: Rule, rows: list[Row], using: str) -> list[Row]:
    """Rows recorded by their primary key alone (a many-to-many link) get their key columns from the database."""
    # A template may name the primary key by its field (`{id}`): every row holds it, as "pk". Loading it
    # again would replace a renamed row's old values by its new ones, and the old keys would be lost.
    pk_name = model._meta.pk.attname
    needed = {_model_field(model, path[0]).attname for t in rule.keys for path in t.paths} - {"pk", pk_name}
    complete = [_to_python(model, row) for row in rows if needed <= row.keys()]
    partial = {_to_python(model, row)["pk"] for row in rows if not needed <= row.keys()}
    if partial:
        loaded = model._base_manager.using(using).filter(pk__in=partial).values("pk", *needed)
        complete.extend(loaded)
    return [{pk_name: row["pk"], **row} for row in complete]


def _to_python(model: type[models.Model], row: Row) -> Row:
    """JSON values as the fields' Python values (SQLite's 0/1 as booleans...), so keys render alike everywhere."""
    converters = _converters(model)
    return {
        name: converters[name](value) if value is not None and name in converters else value
        for name, value in row.items()
    }


@cache
def _fields_by_attname(model: type[models.Model]) -> dict[str, models.Field[Any, Any]]:
    return {"pk": model._meta.pk, **{f.attname: f for f in model._meta.concrete_fields}}


@cache
def _converters(model: type[models.Model]) -> dict[str, Callable[[object], object]]:
    """Each column's to_python; a foreign key's is its target's (what ForeignKey.to_python calls, per row)."""
    return {
        name: field.target_field.to_python
        if isinstance(field, RelatedField) and (field.many_to_one or field.one_to_one)
        else field.to_python
        for name, field in _fields_by_attname(model).items()
    }


def _read_with_entries(model: type[models.Model], label: str, rows: list[Row], followed: Followed) -> ReadPaths:
    """Path -> (target id -> value, the ids asked for) of the paths read with the entries."""
    read: ReadPaths = {}
    for (of_label, path), pairs in followed.items():
        if of_label != label:
            continue
        relation = _relation(model, path[0])
        target, end = relation.target_field, _end_field(model, path)
        values = {target.to_python(k): None if v is None else end.to_python(v) for k, v in pairs}
        asked = {relation.to_python(row[relation.attname]) for row in rows if row.get(relation.attname) is not None}
        read[path] = (values, asked)
    return read


def _end_field(model: type[models.Model], path: tuple[str, ...]) -> models.Field[Any, Any]:
    for name in path[:-1]:
        model = _resolved(_relation(model, name).related_model)
    return _model_field(model, path[-1])


def _render_rows(
    model: type[models.Model],
    templates: tuple[KeyTemplate, ...],
    rows: list[Row],
    using: str,
    read: ReadPaths | None = None,
) -> Iterator[str]:
    followed = _follow_relations(model, templates, rows, using, read or {})
    # Per path: the row's field that starts it, and for a path through a relation its values now.
    plan = {
        path: (_model_field(model, path[0]).attname, followed.get(path))
        for template in templates
        for path in template.paths
    }
    for template in templates:
        # Each distinct combination of values once: 10,000 products of one category are one category key.
        steps = [plan[path] for path in template.paths]
        rendered: set[tuple[object, ...]] = set()
        for row in rows:
            values: list[object] = []
            for attname, through in steps:
                value = row.get(attname)
                if through is not None and value is not None:
                    value = through.get(value)
                if value is None:
                    break
                values.append(value)
            else:
                combination = tuple(values)
                try:
                    if combination in rendered:
                        continue
                    rendered.add(combination)
                except TypeError:  # an unhashable value (a JSON field's list): rendered every time
                    pass
                yield template.render_values(dict(zip(template.paths, combination, strict=True)))


def _follow_relations(
    model: type[models.Model], templates: tuple[KeyTemplate, ...], rows: list[Row], using: str, read: ReadPaths
) -> dict[tuple[str, ...], dict[object, object]]:
    """For each path through a relation, target id -> value at its end (one query per path, but for
    the ids already `read` with the entries)."""
    followed: dict[tuple[str, ...], dict[object, object]] = {}
    for path in {path for t in templates for path in t.paths if len(path) > 1}:
        relation = _relation(model, path[0])
        ids = {row[relation.attname] for row in rows if row.get(relation.attname) is not None}
        empty: tuple[dict[object, object], set[object]] = ({}, set())
        values, asked = read.get(path, empty)
        ids -= asked
        if ids:
            target = relation.target_field.attname if relation.target_field.attname != "id" else "pk"
            manager = _resolved(relation.related_model)._base_manager.using(using)
            pairs = manager.filter(**{f"{target}__in": ids}).values_list(target, "__".join(path[1:]))
            values = {**values, **dict(pairs)}
        followed[path] = values
    return followed


def _related_keys(
    model: type[models.Model], accessor: str, templates: tuple[KeyTemplate, ...], pks: list[object], using: str
) -> Iterator[str]:
    relation = related_field(model, accessor)
    if relation is None or not pks:
        return
    back = relation.field.name if isinstance(relation, ForeignObjectRel) else relation.related_query_name()
    paths = sorted({path for t in templates for path in t.paths})
    rows = (
        _resolved(relation.related_model)
        ._base_manager.using(using)
        .filter(**{f"{back}__in": pks})
        .values_list(*("__".join(path) for path in paths))
        .iterator(chunk_size=FAN_OUT_CHUNK)
    )
    for row in rows:
        values = dict(zip(paths, row, strict=True))
        for template in templates:
            if all(values[path] is not None for path in template.paths):
                yield template.render_values({path: values[path] for path in template.paths})


def related_field(model: type[models.Model], accessor: str) -> RelatedField[Any, Any] | ForeignObjectRel | None:
    """The relation named `accessor` on `model`: a forward field or the accessor of a reverse one."""
    for candidate in model._meta.get_fields():
        # A reverse relation is the one kind of field that is auto-created and not concrete.
        name = candidate.get_accessor_name() if isinstance(candidate, ForeignObjectRel) else candidate.name
        # A generic foreign key names no related model: checks.py refuses it as `related`.
        if name == accessor and isinstance(candidate, (RelatedField, ForeignObjectRel)):
            return candidate
    return None
