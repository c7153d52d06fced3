"""Seed the demo catalogue (catalog/demo_catalogue.py): deterministic with --seed, fast with bulk inserts."""

import itertools
import random
from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError
from django.utils.text import slugify

from cache_sync import invalidate_keys, suspended
from catalog import demo_catalogue
from catalog.models import Category, Product

BATCH_SIZE = 2000


class Command(BaseCommand):
    help = "Create demo categories and products (bulk inserts; deterministic with --seed)."

    def add_arguments(self, parser):
        parser.add_argument("--categories", type=int, default=12)
        parser.add_argument("--products", type=int, default=500)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--if-empty", action="store_true", help="do nothing when products exist")

    def handle(self, *args, categories, products, seed, if_empty, **options):
        if categories < 1 or products < 0:
            raise CommandError("--categories must be at least 1 and --products at least 0.")
        if if_empty and Product.objects.exists():
            self.stdout.write("The catalog has products already; nothing seeded.")
            return
        rng = random.Random(seed)
        # Seeding again adds to what exists: names and slugs stay distinct from the rows already there.
        used_names = set(Product.objects.values_list("name", flat=True))
        used_slugs = set(Product.objects.values_list("slug", flat=True))
        # Nobody has cached the new rows' pages: record no invalidation per row, then name the
        # pages that list them.
        with suspended():
            chosen = self._new_categories(categories)
            new_categories = Category.objects.bulk_create(category for category, _ in chosen)
            shelves = [
                (
                    category,
                    vocabulary,
                    demo_catalogue.product_names(vocabulary, random.Random(f"{seed}:{category.slug}")),
                )
                for category, vocabulary in chosen
            ]
            new_products = []
            for _ in range(products):
                category, vocabulary, names = rng.choice(shelves)
                name, origin = next(n for n in names if n[0] not in used_names)
                used_names.add(name)
                new_products.append(self._product(rng, name, origin, category, vocabulary, used_slugs))
            Product.objects.bulk_create(new_products, batch_size=BATCH_SIZE)
        invalidate_keys(["home", *(f"category:{category.slug}" for category in new_categories)])
        self.stdout.write(self.style.SUCCESS(f"Seeded {categories} categories and {products} products."))

    @staticmethod
    def _new_categories(count: int) -> list[tuple[Category, demo_catalogue.CategoryVocabulary]]:
        """The next `count` curated categories whose slug is free, each with its vocabulary."""
        taken = set(Category.objects.values_list("slug", flat=True))
        found = []
        for index in itertools.count():
            if len(found) == count:
                return found
            name = demo_catalogue.category_name(index)
            if slugify(name) not in taken:
                found.append((Category(name=name, slug=slugify(name)), demo_catalogue.vocabulary(index)))

    @staticmethod
    def _product(rng, name, origin, category, vocabulary, used_slugs) -> Product:
        slug = base = slugify(name)
        suffix = 2
        while slug in used_slugs:
            slug, suffix = f"{base}-{suffix}", suffix + 1
        used_slugs.add(slug)
        low, high = vocabulary.price_range
        return Product(
            name=name,
            slug=slug,
            price=Decimal(rng.randrange(low * 100, high * 100, 5)) / 100,
            description=vocabulary.description(name, origin, rng),
            category=category,
        )
