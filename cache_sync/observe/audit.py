"""The rule audit: render cached pages, record what they read, name every read no rule would invalidate.

For each page (a URL served by a `cached_page` view, rendered as an anonymous
visitor, straight from the database, in a transaction rolled back after):

- **no rule**: it read a model that has no rule in `CACHE_SYNC['RULES']`;
- **related**: it read rows of a model whose rule has a rule, but no key of it
  (its `keys` nor its `related` fan-out) names this page's key: a loaded row is
  checked with `keys_for()`, a table read without loading rows (a count, a
  `values()` list) by the shape of the templates (`category:*`);
- **fields**: it read a field that the model's rule leaves out of `fields`.

A many-to-many table counts as a read of the model that declares the field.
`AUDIT_IGNORE` names models or fields whose reads are accepted, for a stated reason.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast
from urllib.parse import urlsplit

from asgiref.sync import async_to_sync, iscoroutinefunction
from django.apps import apps
from django.db import DEFAULT_DB_ALIAS, models, transaction
from django.http import Http404, HttpResponse, QueryDict
from django.urls import Resolver404, get_resolver, resolve

from ..api import keys_for
from ..conf import Rule, get_config
from ..keys import KeyTemplate
from ..pages.built_requests import anonymous_request
from ..pages.decorator import CachedPage, _pages, _render, url_name_of
from .audit_reads import Reads, models_by_table, recording_reads

ALWAYS_IGNORED_APPS = ("cache_sync", "contenttypes", "sessions")


@dataclass(frozen=True)
class Finding:
    kind: str  # "no rule", "related", "fields"
    model: str
    message: str


@dataclass
class PageAudit:
    url: str
    key: str = ""
    rows: dict[str, list[str]] = field(default_factory=dict)  # model -> primary keys loaded ("" for none)
    fields: dict[str, list[str]] = field(default_factory=dict)  # model -> fields read
    findings: list[Finding] = field(default_factory=list)
    error: str = ""


def shape(template: KeyTemplate) -> str:
    """`category:{category.slug}` and `category:{slug}` may name the same family: both are `category:*`."""
    return "".join(literal + ("*" if path is not None else "") for literal, path in template.parts)


def rule_shapes(rule: Rule) -> set[str]:
    return {shape(t) for t in rule.keys} | {shape(t) for _accessor, templates in rule.related for t in templates}


def audit_url(url: str) -> PageAudit:
    parts = urlsplit(url)
    result = PageAudit(url)
    try:
        match = resolve(parts.path)
    except Resolver404:
        result.error = "no URL pattern matches it"
        return result
    page: CachedPage | None = getattr(match.func, "cached_page", None)
    if page is None:
        result.error = "not a cached page (no cached_page view): nothing to audit"
        return result
    result.key = page.key(match.kwargs)
    request = anonymous_request(parts.path)
    request.META["QUERY_STRING"] = parts.query
    request.GET = QueryDict(parts.query)
    with recording_reads() as reads, transaction.atomic():
        try:
            inner = cast(Callable[..., HttpResponse], page.view)
            view = async_to_sync(inner) if iscoroutinefunction(inner) else inner
            response = _render(view(request, *match.args, **match.kwargs))
            if response.status_code != 200:
                result.error = f"answered {response.status_code}"
        except Http404:
            result.error = "answered 404"
        finally:
            transaction.set_rollback(True)
    analyse(result, page.template, reads)
    return result


def analyse(result: PageAudit, template: KeyTemplate, reads: Reads) -> None:
    ignored = set(get_config().audit_ignore)
    rules = get_config().rules_by_model
    by_table = models_by_table()
    fields_read: dict[type[models.Model], set[str]] = defaultdict(set)
    tables_read: set[type[models.Model]] = set()
    for table in reads.tables:
        model = by_table.get(table)
        if model is None:
            continue
        names = {f.column: f.name for f in model._meta.concrete_fields if not f.primary_key}
        owner, m2m = _declaring_model(model)
        if owner is not None:
            tables_read.add(owner)
            fields_read[owner].add(m2m)
            continue
        tables_read.add(model)
        fields_read[model] |= {names[c] for c in reads.columns.get(table, ()) if c in names}
    for model, attributes in reads.attributes.items():
        fields_read[model] |= attributes
    instances: dict[type[models.Model], list[models.Model]] = defaultdict(list)
    for instance in reads.instances:
        instances[type(instance)].append(instance)
    for model in sorted(tables_read | set(instances), key=lambda m: m._meta.label):
        label = model._meta.label
        if model._meta.app_label in ALWAYS_IGNORED_APPS or label in ignored:
            continue
        loaded = instances.get(model, [])
        result.rows[label] = sorted({str(obj.pk) for obj in loaded})
        result.fields[label] = sorted(fields_read[model])
        rule = rules.get(label)
        if rule is None:
            result.findings.append(Finding("no rule", label, f"{label} has no rule. {_hint(model, template)}"))
            continue
        if not _reaches(rule, loaded, result.key, template):
            result.findings.append(
                Finding("related", label, f"no key of {label}'s rule names {result.key!r}. {_hint(model, template)}")
            )
        if rule.fields is not None:
            for name in sorted(fields_read[model] - set(rule.fields)):
                if f"{label}.{name}" not in ignored:
                    result.findings.append(
                        Finding("fields", label, f"{label}.{name} is read but left out of the rule's `fields`.")
                    )


def _reaches(rule: Rule, loaded: list[models.Model], key: str, template: KeyTemplate) -> bool:
    if loaded:
        return all(key in keys_for(obj) for obj in loaded)
    return shape(template) in rule_shapes(rule)


def _declaring_model(model: type[models.Model]) -> tuple[type[models.Model] | None, str]:
    """For an automatic many-to-many table: the model that declares the field, and its name."""
    if not model._meta.auto_created:
        return None, ""
    for candidate in apps.get_models():
        for m2m in candidate._meta.local_many_to_many:
            if m2m.remote_field.through is model:
                return candidate, m2m.name
    return None, ""


def _hint(model: type[models.Model], template: KeyTemplate) -> str:
    """Which relation of `model` leads to a model whose rule has this page's template, if one does."""
    for label, rule in get_config().rules_by_model.items():
        own = next((t for t in rule.keys if shape(t) == shape(template)), None)
        if own is None:
            continue
        target = apps.get_model(label)
        for relation in model._meta.get_fields():
            if relation.is_relation and relation.related_model is target:
                accessor = relation.get_accessor_name() if relation.auto_created else relation.name  # type: ignore[union-attr]
                return f"Add to its rule: 'related': {{{accessor!r}: [{own.text!r}]}}."
    return f"Add a rule (or a key) for it that names {template.text!r}."


def site_urls() -> list[str]:
    """One URL of each cached view whose template a rule's key has too, built from that model's first row."""
    get_resolver().url_patterns  # imports the views, whose decorators register the pages  # noqa: B018
    urls = []
    for page in list(_pages):
        if url_name_of(page.endpoint) is None:
            continue
        kwargs = _sample_kwargs(page.template)
        if kwargs is None:
            continue
        path = page.anonymous_request(kwargs).path
        if path not in urls and (path != "/" or not page.template.paths):
            urls.append(path)
    return urls


def _sample_kwargs(template: KeyTemplate) -> dict[str, str] | None:
    if not template.paths:
        return {}
    for rule in get_config().rules:
        if any(t.text == template.text for t in rule.keys):
            row = apps.get_model(rule.model)._base_manager.using(DEFAULT_DB_ALIAS).order_by("pk").first()
            if row is not None:
                return {".".join(path): str(getattr(row, path[0])) for path in template.paths}
    return None


def uncovered(results: list[PageAudit]) -> list[tuple[PageAudit, Finding]]:
    return [(page, finding) for page in results for finding in page.findings]
