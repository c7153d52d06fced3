"""`manage.py cache_sync`: rules, stats, explain, invalidate, warm, verify; install-triggers and relay."""

from __future__ import annotations

import contextlib
import signal
import threading
from itertools import islice

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS
from django.utils import timezone

from cache_sync import outbox, relay, stats
from cache_sync.api import invalidate_keys, keys_for
from cache_sync.conf import get_config
from cache_sync.page_bytes import decode_page
from cache_sync.rebuild import anonymous_variant, find_page, rebuild_page, render_fresh
from cache_sync.store import StoreUnavailable, get_store
from cache_sync.triggers import install_triggers


class Command(BaseCommand):
    help = "Show cache_sync's rules, explain which keys an object's change touches, invalidate keys."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("rules", help="print the configured rules")
        explain = sub.add_parser("explain", help="keys that a change of one object touches")
        explain.add_argument("model", help="app_label.ModelName")
        explain.add_argument("pk")
        invalidate = sub.add_parser("invalidate", help="invalidate rule keys now, e.g. home category:tea")
        invalidate.add_argument("keys", nargs="+")
        warm = sub.add_parser("warm", help="fill the anonymous pages of the configured models' rows")
        warm.add_argument("--limit", type=int, default=1000, help="rows per model")
        stats_parser = sub.add_parser("stats", help="counts of every process, and the outbox backlog")
        stats_parser.add_argument("--database", default=DEFAULT_DB_ALIAS)
        install = sub.add_parser("install-triggers", help="create or update the triggers that record changes")
        install.add_argument("--database", default=DEFAULT_DB_ALIAS)
        relay = sub.add_parser("relay", help="deliver changes that their writers did not, and keep doing so")
        relay.add_argument("--database", default=DEFAULT_DB_ALIAS)
        relay.add_argument("--once", action="store_true", help="deliver what is pending, then exit")
        verify = sub.add_parser("verify", help="compare cached anonymous pages with pages built from the database")
        verify.add_argument("--sample", type=int, default=1000, help="cached keys to check at most")

    def handle(self, *args, action, **options):
        getattr(self, f"handle_{action.replace('-', '_')}")(**options)

    def handle_rules(self, **options):
        config = get_config()
        self.stdout.write(f"cache {config.cache_alias!r}, TTL {config.timeout}s, strategy {config.strategy}")
        for rule in config.rules:
            keys = ", ".join(t.text for t in rule.keys)
            self.stdout.write(f"{rule.model}: {rule.action} {keys}")
            for accessor, templates in rule.related:
                self.stdout.write(f"  related {accessor}: {', '.join(t.text for t in templates)}")

    def handle_explain(self, model, pk, **options):
        try:
            model_class = apps.get_model(model)
            obj = model_class._base_manager.get(pk=pk)
        except (LookupError, ValueError) as error:
            raise CommandError(f"Unknown model {model!r}: {error}") from None
        except model_class.DoesNotExist:
            raise CommandError(f"No {model} with pk {pk}.") from None
        keys = keys_for(obj)
        if not keys:
            self.stdout.write(f"{model} has no rule in CACHE_SYNC: its changes touch no key.")
        for key in keys:
            self.stdout.write(key)

    def handle_warm(self, limit, **options):
        filled = 0
        for rule in get_config().rules:
            for obj in apps.get_model(rule.model)._base_manager.all()[:limit]:
                for key in keys_for(obj):
                    if find_page(key):
                        rebuild_page(key)
                        filled += 1
        self.stdout.write(self.style.SUCCESS(f"Warmed {filled} page(s)."))

    def handle_verify(self, sample, **options):
        store = get_store(get_config().cache_alias)
        checked = differ = 0
        for key in islice(store.cached_keys(), sample):
            found = find_page(key)
            cached = found and store.cached_page(key, anonymous_variant(*found))
            if not cached:
                continue
            checked += 1
            fresh = render_fresh(key)
            if fresh is None or decode_page(cached).content != fresh.content:
                differ += 1
                self.stdout.write(f"differs: {key}")
        self.stdout.write(f"Checked {checked} cached page(s): {differ} differ from the database.")
        if differ:
            raise CommandError(f"{differ} cached page(s) differ from the database.")

    def handle_stats(self, database, **options):
        for event, n in stats.totals().items():
            self.stdout.write(f"{event:<22}{n:>12}")
        pending, oldest = outbox.backlog(database)
        age = f"{(timezone.now() - oldest).total_seconds():.1f}s" if oldest else "-"
        self.stdout.write(f"{'outbox_backlog':<22}{pending:>12}")
        self.stdout.write(f"{'outbox_oldest_age':<22}{age:>12}")

    def handle_install_triggers(self, database, **options):
        diff = install_triggers(database)
        self.stdout.write(
            self.style.SUCCESS(f"Created {len(diff.missing)} trigger(s), dropped {len(diff.stale)} on {database!r}.")
        )

    def handle_relay(self, database, once, **options):
        if once:
            try:
                delivered = relay.deliver_all(database)
            except StoreUnavailable as error:
                raise CommandError(f"Redis unavailable, nothing delivered: {error}") from None
            self.stdout.write(self.style.SUCCESS(f"Delivered {delivered} change(s)."))
            return
        self.stdout.write(f"Relaying committed changes of {database!r} to Redis (Ctrl-C stops).")
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        with contextlib.suppress(KeyboardInterrupt):
            relay.run(database, should_stop=stop.is_set)

    def handle_invalidate(self, keys, **options):
        invalidate_keys(keys)
        self.stdout.write(self.style.SUCCESS(f"Invalidated {len(keys)} key(s)."))
