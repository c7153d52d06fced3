"""A response as bytes in Redis and back: its headers (JSON, one line) and its body.

The header line also says, under a name no header can have, whether the page shows what
the session holds (session_reads.py).
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import NamedTuple

from django.http import HttpResponse

CACHE_HEADER = "X-Cache"
_READS_SESSION = " reads session"  # a space: never a header's name
_NOT_STORED = {"set-cookie", CACHE_HEADER.lower()}


class StoredPage(NamedTuple):
    headers: dict[str, str]
    body: bytes
    reads_session: bool


def encode_page(response: HttpResponse, *, reads_session: bool = False) -> bytes:
    headers: dict[str, object] = {name: value for name, value in response.items() if name.lower() not in _NOT_STORED}
    if reads_session:
        headers[_READS_SESSION] = True
    return json.dumps(headers).encode() + b"\n" + response.content


def split_page(page: bytes) -> StoredPage:
    """The stored headers, body and session mark (the one reader of the format)."""
    header_line, _, content = page.partition(b"\n")
    headers, reads_session = _parsed_header_line(header_line)
    return StoredPage(dict(headers), content, reads_session)


def hit_as_sent(page: bytes) -> tuple[list[tuple[str, str]], bytes]:
    """An anonymous hit's headers (marked a hit) and body, as the WSGI layer sends them."""
    header_line, _, content = page.partition(b"\n")
    return list(_hit_headers(header_line)), content


@lru_cache(maxsize=1024)
def _parsed_header_line(header_line: bytes) -> tuple[tuple[tuple[str, str], ...], bool]:
    """The same stored headers are read on every hit of a page: parsed once per process."""
    headers = json.loads(header_line)
    reads_session = bool(headers.pop(_READS_SESSION, False))
    return tuple(headers.items()), reads_session


@lru_cache(maxsize=1024)
def _hit_headers(header_line: bytes) -> tuple[tuple[str, str], ...]:
    return (*_parsed_header_line(header_line)[0], (CACHE_HEADER, "hit"))


def decode_page(page: bytes) -> HttpResponse:
    stored = split_page(page)
    return HttpResponse(stored.body, headers=stored.headers)
