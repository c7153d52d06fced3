"""The pages of the site under test: what exists, which are hot, their keys and URLs.

The map is crawled once over HTTP (home, then every page of every category) and
shared through the oracle, so that every Locust process uses the same one.
Profiles cannot be crawled; their usernames follow `seed_users`' naming
(`shopper001`...), or come from `LOADTEST_USERNAMES`.
"""

from __future__ import annotations

import json
import os
import re
import urllib.request
from dataclasses import dataclass
from functools import cached_property

HOT_CATEGORIES = 3
HOT_PRODUCTS_PER_CATEGORY = 4
HOT_HOME_PRODUCTS = 3
HOT_USERS = 5
DEFAULT_PROFILES = 50

_CATEGORY_LINK = re.compile(r'href="/categories/([^/"]+)/"')
_PRODUCT_LINK = re.compile(r'href="/products/([^/"]+)/"')
_NEXT_LINK = re.compile(r'href="\?page=(\d+)">Next')

# Locust groups URLs under these names; STALE events use the same ones.
NAMES = {
    "home": "/",
    "category": "/categories/[slug]/?page=[n]",
    "product": "/products/[slug]/",
    "profile": "/users/[username]/",
}


def username(index: int) -> str:
    return f"shopper{index:03d}"


def usernames_from_env() -> list[str]:
    if names := os.environ.get("LOADTEST_USERNAMES"):
        return [name.strip() for name in names.split(",") if name.strip()]
    count = int(os.environ.get("LOADTEST_PROFILES", DEFAULT_PROFILES))
    return [username(i) for i in range(1, count + 1)]


@dataclass(frozen=True)
class Page:
    kind: str  # home, category, product, profile
    key: str  # the cache_sync rule key, e.g. "category:tea"; oracle candidates live under it
    url: str
    number: int = 1  # the page number of a category page

    @property
    def name(self) -> str:
        return NAMES[self.kind]


def home_page() -> Page:
    return Page("home", "home", "/")


def category_page(slug: str, number: int = 1) -> Page:
    return Page("category", f"category:{slug}", f"/categories/{slug}/?page={number}", number)


def product_page(slug: str) -> Page:
    return Page("product", f"product:{slug}", f"/products/{slug}/")


def profile_page(name: str) -> Page:
    return Page("profile", f"profile:{name}", f"/users/{name}/")


@dataclass(frozen=True)
class SiteMap:
    categories: dict[str, list[list[str]]]  # slug -> product slugs, page by page
    usernames: list[str]
    home_products: tuple[str, ...] = ()  # the newest products, shown on home

    @cached_property
    def category_slugs(self) -> list[str]:
        return sorted(self.categories)

    @cached_property
    def category_of(self) -> dict[str, str]:
        return {p: c for c, pages in self.categories.items() for page in pages for p in page}

    @cached_property
    def products(self) -> list[str]:
        return sorted(self.category_of)

    @cached_property
    def hot_categories(self) -> list[str]:
        return self.category_slugs[:HOT_CATEGORIES]

    @cached_property
    def hot_products(self) -> list[str]:
        """A few of home's products and the first ones of the hot categories' first pages.

        So that hot writes show on hot pages: home, the hot categories and their products.
        """
        hot = list(self.home_products[:HOT_HOME_PRODUCTS])
        for category in self.hot_categories:
            hot += (self.categories[category] or [[]])[0][:HOT_PRODUCTS_PER_CATEGORY]
        return list(dict.fromkeys(hot))

    @cached_property
    def hot_users(self) -> list[str]:
        return self.usernames[:HOT_USERS]

    def page_count(self, category: str) -> int:
        return max(1, len(self.categories.get(category, [])))

    def pages_of_key(self, key: str) -> list[Page]:
        """Every URL under a page key (a category key covers each of its pages)."""
        kind, _, arg = key.partition(":")
        if kind == "home":
            return [home_page()]
        if kind == "category":
            return [category_page(arg, n) for n in range(1, self.page_count(arg) + 1)]
        if kind == "product":
            return [product_page(arg)]
        if kind == "profile":
            return [profile_page(arg)]
        return []

    def to_json(self) -> str:
        return json.dumps(
            {
                "categories": self.categories,
                "usernames": self.usernames,
                "home_products": list(self.home_products),
            }
        )

    @classmethod
    def from_json(cls, text: str) -> SiteMap:
        data = json.loads(text)
        return cls(data["categories"], data["usernames"], tuple(data.get("home_products", ())))


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode()


def crawl(host: str, usernames: list[str] | None = None, max_pages: int = 100) -> SiteMap:
    """Home, then every page of every category; profiles by name (they are not linked)."""
    host = host.rstrip("/")
    categories: dict[str, list[list[str]]] = {}
    home = _get(f"{host}/")
    for slug in dict.fromkeys(_CATEGORY_LINK.findall(home)):
        pages, number = [], 1
        while number and len(pages) < max_pages:
            html = _get(f"{host}/categories/{slug}/?page={number}")
            pages.append(list(dict.fromkeys(_PRODUCT_LINK.findall(html))))
            found = _NEXT_LINK.search(html)
            number = int(found.group(1)) if found else 0
        categories[slug] = pages
    home_products = tuple(dict.fromkeys(_PRODUCT_LINK.findall(home)))
    names = usernames if usernames is not None else usernames_from_env()
    return SiteMap(categories, names, home_products)
