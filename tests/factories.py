"""Small helpers that make rows for tests."""

from decimal import Decimal

from catalog.models import Category, Product


def make_category(slug: str = "tea", name: str | None = None) -> Category:
    return Category.objects.create(name=name or slug.title(), slug=slug)


def make_product(category: Category, slug: str = "jade-teapot", **fields) -> Product:
    values = {"name": slug.replace("-", " ").title(), "price": Decimal("12.50"), "description": "Glazed."}
    return Product.objects.create(category=category, slug=slug, **{**values, **fields})


def without_csrf_token(content: bytes) -> bytes:
    """A page's body with its forms' CSRF tokens blanked: a new one is masked for every request."""
    import re

    return re.sub(rb'name="csrfmiddlewaretoken" value="[^"]*"', b'name="csrfmiddlewaretoken" value=""', content)
