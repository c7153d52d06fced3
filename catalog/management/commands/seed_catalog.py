"""Seed a demo catalog: deterministic with --seed, fast with bulk inserts."""

import random
from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError

from cache_sync import invalidate_keys, suspended
from catalog.models import Category, Product

ADJECTIVES = [
    "Amber", "Bronze", "Cedar", "Copper", "Crimson", "Desert", "Ebony", "Golden", "Indigo", "Ivory",
    "Jade", "Lapis", "Lotus", "Marble", "Onyx", "Pearl", "Saffron", "Scarlet", "Silver", "Teak",
]  # fmt: skip
NOUNS = [
    "Bowl", "Carpet", "Chest", "Cup", "Fan", "Flask", "Jar", "Kettle", "Lamp", "Lantern",
    "Mirror", "Pillow", "Plate", "Rug", "Scarf", "Shawl", "Spoon", "Teapot", "Tray", "Vase",
]  # fmt: skip
CATEGORY_NAMES = [
    "Carpets", "Ceramics", "Copperware", "Glass", "Incense", "Jewellery", "Lamps", "Leather",
    "Paper", "Porcelain", "Silks", "Spices", "Tea", "Textiles", "Woodwork",
]  # fmt: skip
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
        start = Category.objects.count()
        # Nobody has cached the new rows' pages: record no invalidation per row, then name the
        # pages that list them.
        with suspended():
            new_categories = Category.objects.bulk_create(
                Category(name=self._category_name(start + i), slug=f"{self._slug(start + i)}")
                for i in range(categories)
            )
            first = Product.objects.count()
            for offset in range(0, products, BATCH_SIZE):
                Product.objects.bulk_create(
                    self._product(rng, first + i, rng.choice(new_categories))
                    for i in range(offset, min(offset + BATCH_SIZE, products))
                )
        invalidate_keys(["home", *(f"category:{category.slug}" for category in new_categories)])
        self.stdout.write(self.style.SUCCESS(f"Seeded {categories} categories and {products} products."))

    @staticmethod
    def _category_name(index: int) -> str:
        base = CATEGORY_NAMES[index % len(CATEGORY_NAMES)]
        return base if index < len(CATEGORY_NAMES) else f"{base} {index // len(CATEGORY_NAMES) + 1}"

    def _slug(self, index: int) -> str:
        return self._category_name(index).lower().replace(" ", "-")

    @staticmethod
    def _product(rng: random.Random, index: int, category: Category) -> Product:
        name = f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)}"
        return Product(
            name=name,
            slug=f"{name.lower().replace(' ', '-')}-{index + 1}",
            price=Decimal(rng.randrange(100, 100000)) / 100,
            description=f"A {name.lower()} from the {category.name.lower()} stalls, lot {index + 1}.",
            category=category,
        )
