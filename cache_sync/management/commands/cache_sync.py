"""`manage.py cache_sync`: rules, stats, explain, invalidate, warm, verify, triggers, relay, audit..."""

from __future__ import annotations

import argparse
import json
import random
import signal
import threading
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import Any

import redis
from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import models
from django.utils import timezone

from cache_sync.api import invalidate_keys, keys_for
from cache_sync.capture import outbox
from cache_sync.conf import get_config
from cache_sync.delivery import relay
from cache_sync.delivery.delivery import outbox_aliases, renderable_models
from cache_sync.delivery.heartbeat import latest_heartbeat
from cache_sync.holes.visitors import record_is_true, visitor_pk_of
from cache_sync.management.trigger_commands import TRIGGER_ACTIONS, add_trigger_arguments
from cache_sync.observe import audit, freshness
from cache_sync.pages.page_bytes import decode_page
from cache_sync.pages.rebuild import UnbuildableVariant, find_page, rebuild_page, render_variant
from cache_sync.store import stats
from cache_sync.store.breaker import StoreUnavailable, breaker
from cache_sync.store.page_store import get_store

SUGGESTED_KEYS = 20  # keys named in the `invalidate` command that verify suggests


class Command(BaseCommand):
    help = "Show cache_sync's rules, explain which keys an object's change touches, invalidate keys."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("rules", help="print the configured rules")
        explain = sub.add_parser("explain", help="keys that a change of one object touches")
        explain.add_argument("model", help="app_label.ModelName")
        explain.add_argument("id", help="the primary key, or the value of a unique field (a slug)")
        invalidate = sub.add_parser("invalidate", help="invalidate rule keys now, e.g. home category:tea")
        invalidate.add_argument("keys", nargs="+")
        warm = sub.add_parser("warm", help="fill the anonymous pages of the configured models' rows")
        warm.add_argument("--limit", type=int, default=1000, help="rows per model")
        stats_parser = sub.add_parser("stats", help="counts of every process, and the outbox backlog")
        stats_parser.add_argument("--database", help="one database alias (default: every one with an outbox)")
        add_trigger_arguments(sub)
        relay = sub.add_parser("relay", help="deliver changes that their writers did not, and keep doing so")
        relay.add_argument("--database", help="one database alias (default: every one with an outbox)")
        relay.add_argument("--once", action="store_true", help="deliver what is pending, then exit")
        verify = sub.add_parser("verify", help="compare every cached page variant with one built from the database")
        verify.add_argument("--sample", type=int, default=1000, help="cached keys to check at most")
        add_outside_arguments(sub)

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        try:
            getattr(self, f"handle_{action.replace('-', '_')}")(**options)
        except (StoreUnavailable, redis.RedisError) as error:
            alias = get_config().cache_alias
            location = settings.CACHES.get(alias, {}).get("LOCATION", "?")
            raise CommandError(f"Redis of cache {alias!r} ({location}) does not answer: {error}") from None

    def handle_rules(self, **options: Any) -> None:
        config = get_config()
        self.stdout.write(f"cache {config.cache_alias!r}, TTL {config.timeout}s, strategy {config.strategy}")
        for rule in config.rules:
            keys = ", ".join(t.text for t in rule.keys)
            self.stdout.write(f"{rule.model}: {rule.action} {keys}")
            for accessor, templates in rule.related:
                self.stdout.write(f"  related {accessor}: {', '.join(t.text for t in templates)}")

    def handle_explain(self, model: str, id: str, **options: Any) -> None:
        try:
            model_class = apps.get_model(model)
        except (LookupError, ValueError) as error:
            raise CommandError(f"Unknown model {model!r} (give app_label.ModelName): {error}") from None
        obj, fields = find_object(model_class, id)
        if obj is None:
            raise CommandError(f"No {model_class._meta.label} has {' or '.join(fields)} {id!r}.")
        keys = keys_for(obj)
        if not keys:
            self.stdout.write(f"{model} has no rule in CACHE_SYNC: its changes touch no key.")
        for key in keys:
            self.stdout.write(key)

    def handle_warm(self, limit: int, **options: Any) -> None:
        get_store(get_config().cache_alias).ping()
        filled = 0
        for rule in get_config().rules:
            for obj in apps.get_model(rule.model)._base_manager.all()[:limit]:
                for key in keys_for(obj):
                    if find_page(key):
                        rebuild_page(key)
                        filled += 1
        self.stdout.write(self.style.SUCCESS(f"Warmed {filled} page(s)."))

    def handle_verify(self, sample: int, **options: Any) -> None:
        store = get_store(get_config().cache_alias)
        store.ping()
        checked = unbuildable = 0
        differing: list[str] = []
        for key in islice(store.cached_keys(), sample):
            if (pk := visitor_pk_of(key)) is not None:  # a signed-in visitor's record, not a page
                for cached in store.cached_variants(key).values():
                    checked += 1
                    if not record_is_true(pk, cached):
                        self.stdout.write(f"differs: {key}")
                        differing.append(key)
                continue
            for variant, cached in store.cached_variants(key).items():
                try:
                    fresh = render_variant(key, variant)
                except UnbuildableVariant as reason:
                    unbuildable += 1
                    self.stdout.write(f"skipped: {key} [{variant}]: {reason}", self.style.WARNING)
                    continue
                checked += 1
                if fresh is None or decode_page(cached).content != fresh.content:
                    self.stdout.write(f"differs: {key} [{variant}]")
                    if key not in differing:
                        differing.append(key)
        skipped = f", {unbuildable} could not be built again" if unbuildable else ""
        self.stdout.write(f"Checked {checked} cached page variant(s){skipped}: {len(differing)} key(s) differ.")
        if differing:
            named = " ".join(differing[:SUGGESTED_KEYS]) + (" ..." if len(differing) > SUGGESTED_KEYS else "")
            raise CommandError(
                f"{len(differing)} cached key(s) differ from the database. "
                f"Drop them with: manage.py cache_sync invalidate {named}"
            )

    def handle_stats(self, database: str | None, **options: Any) -> None:
        """The database's part first: it is what matters, and it reads while Redis is away."""
        aliases = [database] if database else outbox_aliases()
        for alias in aliases:
            if len(aliases) > 1:
                self.stdout.write(f"database {alias!r}")
            self.write_outbox_state(alias)
        for event, n in stats.totals().items():
            self.stdout.write(f"{event:<22}{n:>12}")

    def write_outbox_state(self, alias: str) -> None:
        now = timezone.now()
        backlog = outbox.backlog(alias, renderable_models())
        self.stdout.write(f"{'outbox_backlog':<22}{backlog.pending:>12}")
        # Entries of models this process has no rule for, left for a process (a release) that has one.
        self.stdout.write(f"{'outbox_unrenderable':<22}{backlog.unrenderable:>12}")
        self.stdout.write(f"{'outbox_oldest_age':<22}{age(now, backlog.oldest):>12}")
        beat = latest_heartbeat(alias)
        self.stdout.write(f"{'relay_heartbeat_age':<22}{age(now, beat.beat_at if beat else None, 'never'):>12}")
        self.stdout.write(f"{'relay_caught_up_age':<22}{age(now, beat.caught_up_at if beat else None):>12}")
        if beat and beat.unrenderable:
            self.stdout.write(f"{'relay_unrenderable':<22}{beat.unrenderable:>12}")  # by the relay's own rules
        if beat and beat.error:
            self.stdout.write(f"{'relay_error':<22}{beat.error}")

    def handle_triggers(self, triggers_action: str, database: str, **options: Any) -> None:
        TRIGGER_ACTIONS[triggers_action](self.stdout, self.style, database)

    def handle_install_triggers(self, database: str, **options: Any) -> None:
        TRIGGER_ACTIONS["install"](self.stdout, self.style, database)

    def handle_relay(self, database: str | None, once: bool, **options: Any) -> None:
        aliases = [database] if database else outbox_aliases()
        if once:
            try:
                delivered = sum(relay.deliver_all(alias) for alias in aliases)
            except StoreUnavailable as error:
                raise CommandError(f"Redis unavailable, nothing delivered: {error}") from None
            self.stdout.write(self.style.SUCCESS(f"Delivered {delivered} change(s)."))
            return
        named = ", ".join(repr(alias) for alias in aliases)
        self.stdout.write(f"Relaying committed changes of {named} to Redis (Ctrl-C stops).")
        self.stdout.flush()
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            relay.run_every(aliases, should_stop=stop.is_set)
        except KeyboardInterrupt:
            stop.set()  # the relays' threads end their round and stop

    def handle_invalidate(self, keys: list[str], **options: Any) -> None:
        invalidate_keys(keys)
        if breaker.owes_catch_up:
            raise CommandError(
                f"Redis does not answer: {len(keys)} key(s) wait in the outbox; the relay delivers them when it does."
            )
        self.stdout.write(self.style.SUCCESS(f"Invalidated {len(keys)} key(s)."))

    def handle_audit(self, urls: list[str], **options: Any) -> None:
        """Each page's reads, then every read no rule invalidates; fails if there is one."""
        results = [audit.audit_url(url) for url in urls or audit.site_urls()]
        for page in results:
            self.stdout.write(f"{page.url}" + (f" (key {page.key!r})" if page.key else ""))
            if page.error:
                self.stdout.write(f"  {page.error}", self.style.WARNING)
            for label, fields in page.fields.items():
                rows = ", ".join(page.rows[label]) or "no rows loaded"
                self.stdout.write(f"  read {label} (rows: {rows}): {', '.join(fields) or '-'}")
            for finding in page.findings:
                self.stdout.write(f"  UNCOVERED [{finding.kind}] {finding.message}", self.style.ERROR)
        found = audit.uncovered(results)
        self.stdout.write(f"Audited {len(results)} page(s): {len(found)} read(s) no rule invalidates.")
        if found:
            raise CommandError(f"{len(found)} read(s) no rule invalidates (see above).")

    def handle_freshness(
        self,
        sample: int,
        within_ms: float | None,
        rounds: int,
        interval: float,
        json_out: str | None,
        seed: int | None,
        version_field: str,
        **options: Any,
    ) -> None:
        """Rounds of the freshness monitor (freshness.py); each publishes the total so far for /metrics."""
        alias = get_config().cache_alias
        within = within_ms if within_ms is not None else get_config().freshness_within_ms
        rng = random.Random(seed)
        total = freshness.Freshness(within, 0, 0)
        done = 0
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        while not stop.is_set() and (rounds == 0 or done < rounds):
            found = freshness.measure_round(alias, sample=sample, within_ms=within, rng=rng, field=version_field)
            total = total.add(found)
            done += 1
            freshness.publish(alias, total)
            if json_out:
                Path(json_out).write_text(json.dumps({**total.as_dict(), "rounds": done}))
            stop.wait(interval)
        self.stdout.write(
            f"Fresh within {within:g} ms: {total.sampled - total.stale} of {total.sampled} sampled page "
            f"variant(s) in {done} round(s) ({100 * total.ratio:.3f} %, {total.nines:.2f} nines)."
        )


def add_outside_arguments(sub: argparse._SubParsersAction[CommandParser]) -> None:
    audit_parser = sub.add_parser("audit", help="render pages and name every read no rule would invalidate")
    audit_parser.add_argument("urls", nargs="*", help="paths such as /products/tea/ (default: one per cached view)")
    fresh = sub.add_parser("freshness", help="sample cached pages: the share fresh within X ms of a write")
    fresh.add_argument("--sample", type=int, default=100, help="page variants per round (100)")
    fresh.add_argument("--within-ms", type=float, help="X (default CACHE_SYNC['FRESHNESS_WITHIN_MS'], 1000)")
    fresh.add_argument("--rounds", type=int, default=1, help="rounds, 0 until SIGTERM or Ctrl-C (1)")
    fresh.add_argument("--interval", type=float, default=1.0, help="seconds between rounds (1)")
    fresh.add_argument("--json-out", help="write the running total there after each round")
    fresh.add_argument("--seed", type=int, help="of the sampler's random choices")
    fresh.add_argument("--version-field", default="version", help="the models' version field (version)")


def age(now: datetime, then: datetime | None, missing: str = "-") -> str:
    return f"{(now - then).total_seconds():.1f}s" if then else missing


def find_object(model_class: type[models.Model], value: str) -> tuple[models.Model | None, list[str]]:
    """The row whose primary key, or one of whose unique fields, equals `value`; and the fields tried."""
    fields = [model_class._meta.pk] + [
        field for field in model_class._meta.concrete_fields if field.unique and not field.primary_key
    ]
    for field in fields:
        try:
            typed = field.to_python(value)
        except ValidationError:
            continue
        found = model_class._base_manager.filter(**{field.attname: typed}).first()
        if found is not None:
            return found, [field.name for field in fields]
    return None, ["pk" if field.primary_key else field.name for field in fields]
