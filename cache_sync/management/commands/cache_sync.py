"""`manage.py cache_sync`: show the rules, explain a change, invalidate on demand."""

from __future__ import annotations

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError

from cache_sync.api import invalidate_keys, keys_for
from cache_sync.conf import get_config


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

    def handle(self, *args, action, **options):
        getattr(self, f"handle_{action}")(**options)

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

    def handle_invalidate(self, keys, **options):
        invalidate_keys(keys)
        self.stdout.write(self.style.SUCCESS(f"Invalidated {len(keys)} key(s)."))
