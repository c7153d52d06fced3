"""The system checks of CACHE_SYNC["EDGE"]'s backend: it imports (E062), and takes its options (E063)."""

from __future__ import annotations

from django.core.checks import Error
from django.utils.module_loading import import_string

from ..conf import Config
from .backends import EdgeBackend


def check_edge_backend(config: Config) -> list[Error]:
    edge = config.edge
    if edge is None or not edge.backend:
        return []
    where = "CACHE_SYNC['EDGE']['BACKEND']"
    try:
        backend = import_string(edge.backend)
    except Exception as error:
        return [Error(f"{where} {edge.backend!r} does not import: {error}", id="cache_sync.E062")]
    if not (isinstance(backend, type) and issubclass(backend, EdgeBackend)):
        return [
            Error(
                f"{where} {edge.backend!r} is not an EdgeBackend.",
                hint="Use cache_sync.edge.backends.Varnish, .Fastly, .Cloudflare or a subclass of EdgeBackend.",
                id="cache_sync.E062",
            )
        ]
    try:
        backend(**edge.options)
    except (TypeError, ValueError) as error:
        return [Error(f"CACHE_SYNC['EDGE']['OPTIONS'] do not suit {edge.backend}: {error}", id="cache_sync.E063")]
    return []
