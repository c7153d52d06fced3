"""Keep Redis-cached Django pages true when the data behind them changes.

The public API; everything else in the package is internal. Names are imported
on first use, so that `import cache_sync` works before Django's apps are ready.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__all__ = [
    "Visitor",
    "cached_page",
    "invalidate_keys",
    "invalidate_objects",
    "key_rebuilt",
    "keys_for",
    "keys_invalidated",
    "register_fragment",
    "register_hole",
    "register_table_triggers",
    "suspended",
    "table_trigger",
]

_HOMES = {
    "cached_page": "cache_sync.pages.decorator",
    "Visitor": "cache_sync.holes.markers",
    "register_fragment": "cache_sync.holes.markers",
    "register_hole": "cache_sync.holes.markers",
    "invalidate_keys": "cache_sync.api",
    "invalidate_objects": "cache_sync.api",
    "keys_for": "cache_sync.api",
    "suspended": "cache_sync.api",
    "register_table_triggers": "cache_sync.capture.schema_hooks",
    "table_trigger": "cache_sync.capture.trigger_ddl",
    "keys_invalidated": "cache_sync.signals",
    "key_rebuilt": "cache_sync.signals",
}

if TYPE_CHECKING:
    from .api import invalidate_keys, invalidate_objects, keys_for, suspended
    from .capture.schema_hooks import register_table_triggers
    from .capture.trigger_ddl import table_trigger
    from .holes.markers import Visitor, register_fragment, register_hole
    from .pages.decorator import cached_page
    from .signals import key_rebuilt, keys_invalidated


def __getattr__(name: str) -> object:
    if name in _HOMES:
        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'cache_sync' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
