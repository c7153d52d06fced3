"""A page's surrogate keys: its Redis key, in the form every edge accepts, in the configured header.

A key is sent as it is when every vendor takes it as one key (no separator, no space, nothing
outside an HTTP token but `:/=@`, at most MAX_LENGTH characters); else as a digest of it. The
header and the purge use the same function, so they always agree.
"""

from __future__ import annotations

import hashlib
import re

from django.http import HttpResponse

from ..conf import get_config

MAX_LENGTH = 128  # characters: under every vendor's limit of one key (Fastly 1024 bytes, Cloudflare 1024)
_PLAIN = re.compile(r"[A-Za-z0-9!#$%&'*+\-.^_`|~:/=@]+")


def surrogate_key(key: str) -> str:
    if len(key) <= MAX_LENGTH and _PLAIN.fullmatch(key):
        return key
    return "h:" + hashlib.blake2b(key.encode(), digest_size=16).hexdigest()


def add_surrogate_keys(response: HttpResponse, key: str) -> HttpResponse:
    """Name the page's key in the edge's header (CACHE_SYNC["EDGE"]), when one is configured."""
    edge = get_config().edge
    if edge is not None and edge.header:
        response[edge.header] = surrogate_key(key)
    return response
