"""A freshness monitor after Meta's Polaris: is a cached page fresh within X ms of each write?

A round samples cached page variants, learns from each the rows it shows (its
`X-Data-Version` header: `app_label.model:pk=version,...`), reads those rows'
versions from the database at time t, waits X ms, and reads the same variants
from Redis again. A variant that still shows an older version than the database
had at t is stale more than X ms after a committed write: certainly a violation.
One that is gone (invalidated) or shows at least those versions is fresh within
X ms. Sampling (page, t) at random makes the share of fresh samples the share
of time pages are fresh within X ms, reported in nines (-log10(1 - ratio)).

Pages without the header are not sampled: the monitor needs the versions a page
shows, which only the site knows how to put in it.
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections import defaultdict
from dataclasses import asdict, dataclass
from itertools import islice

from django.apps import apps
from django.core.cache import caches
from django.core.exceptions import ValidationError

from ..pages.page_bytes import decode_page
from ..store.page_store import get_store

VERSION_HEADER = "X-Data-Version"
VERSION_FIELD = "version"
logger = logging.getLogger(__name__)

SCAN_AT_LEAST = 1000  # keys a round reads from SCAN before it samples
RESULT_KEY = "cache_sync:freshness"  # the last round's figures, for the metrics of any process


@dataclass(frozen=True)
class Freshness:
    within_ms: float
    sampled: int  # page variants that showed at least one row the database still has
    stale: int  # of those, still older than the database X ms after it was read

    @property
    def ratio(self) -> float:
        return 1.0 - self.stale / self.sampled if self.sampled else 1.0

    @property
    def nines(self) -> float:
        """-log10(1 - ratio); with no stale sample, the sample's resolution log10(n), a lower bound."""
        if not self.sampled:
            return 0.0
        if not self.stale:
            return math.log10(self.sampled)
        return -math.log10(self.stale / self.sampled)

    def add(self, other: Freshness) -> Freshness:
        return Freshness(self.within_ms, self.sampled + other.sampled, self.stale + other.stale)

    def as_dict(self) -> dict[str, float]:
        return {**asdict(self), "ratio": self.ratio, "nines": self.nines}


def parse_versions(header: str) -> dict[tuple[str, str], int]:
    """`app_label.model:pk=version,...` -> {(label, pk): version}; malformed items are skipped."""
    shown = {}
    for item in filter(None, (part.strip() for part in header.split(","))):
        name, _, version = item.rpartition("=")
        label, _, pk = name.rpartition(":")
        if label and pk and version.isdigit():
            shown[(label, pk)] = int(version)
    return shown


def database_versions(objects: set[tuple[str, str]], field: str = VERSION_FIELD) -> dict[tuple[str, str], int]:
    """The versions the database holds now of (label, pk) rows; rows gone or unknown are left out."""
    by_label: dict[str, list[str]] = defaultdict(list)
    for label, pk in objects:
        by_label[label].append(pk)
    found = {}
    for label, pks in by_label.items():
        try:
            model = apps.get_model(label)
            typed = [model._meta.pk.to_python(pk) for pk in pks]
        except (LookupError, ValueError, ValidationError):
            continue
        for pk, version in model._base_manager.filter(pk__in=typed).values_list("pk", field):
            found[(label, str(pk))] = version
    return found


def shown_versions(cache_alias: str, key: str, variant: str) -> dict[tuple[str, str], int] | None:
    """The versions the cached variant shows now; None when it is not cached (or shows none)."""
    cached = get_store(cache_alias).cached_variants(key).get(variant)
    if cached is None:
        return None
    header = decode_page(cached).headers.get(VERSION_HEADER, "")
    return parse_versions(header) or None


def sample_variants(cache_alias: str, sample: int, rng: random.Random) -> list[tuple[str, str]]:
    store = get_store(cache_alias)
    # SCAN's order follows the keys' hashes, so a prefix of it is a fair sample; a large cache is not walked whole.
    keys = list(islice(store.cached_keys(), max(20 * sample, SCAN_AT_LEAST)))
    variants = [
        (key, variant) for key in rng.sample(keys, min(sample, len(keys))) for variant in store.cached_variants(key)
    ]
    return rng.sample(variants, min(sample, len(variants)))


def measure_round(
    cache_alias: str, *, sample: int, within_ms: float, rng: random.Random, field: str = VERSION_FIELD
) -> Freshness:
    """One round: read the sampled variants, the database at t, then the variants again at t + X."""
    first = {}
    for key, variant in sample_variants(cache_alias, sample, rng):
        if (shown := shown_versions(cache_alias, key, variant)) is not None:
            first[(key, variant)] = shown
    truth = database_versions({obj for shown in first.values() for obj in shown}, field)
    time.sleep(within_ms / 1000)
    sampled = stale = 0
    for (key, variant), shown_before in first.items():
        expected = {obj: truth[obj] for obj in shown_before if obj in truth}
        if not expected:
            continue  # every row it showed is gone: nothing to compare
        sampled += 1
        later = shown_versions(cache_alias, key, variant)
        if later is not None and any(later.get(obj, version) < version for obj, version in expected.items()):
            stale += 1
    return Freshness(within_ms, sampled, stale)


def publish(cache_alias: str, result: Freshness) -> None:
    caches[cache_alias].set(RESULT_KEY, result.as_dict(), timeout=None)


def last_freshness(cache_alias: str) -> dict[str, float] | None:
    try:
        value = caches[cache_alias].get(RESULT_KEY)
    except Exception as error:  # django-redis wraps Redis errors in exceptions of its own
        logger.warning("freshness: the last round's figures cannot be read: %s", error)
        return None
    return value if isinstance(value, dict) else None
