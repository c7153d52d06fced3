"""The `X-Data-Version` header: which version of each row a page shows.

`catalog.product:7=3,catalog.category:2=1`. Free of Django imports, so that load
test processes (Locust, with no settings) can parse it too.
"""

from __future__ import annotations

from collections.abc import Iterable

DATA_VERSION_HEADER = "X-Data-Version"


def format_data_version(objects: Iterable) -> str:
    """`label:pk=version` for each model instance (each must have a `version`)."""
    return ",".join(f"{obj._meta.label_lower}:{obj.pk}={obj.version}" for obj in objects)


def parse_data_version(value: str) -> dict[str, int]:
    """The inverse of `format_data_version`; malformed items are skipped."""
    versions = {}
    for item in filter(None, (part.strip() for part in value.split(","))):
        name, _, version = item.rpartition("=")
        if name and version.isdigit():
            versions[name] = int(version)
    return versions
