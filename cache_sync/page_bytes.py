"""A response as bytes in Redis and back: its headers (JSON, one line) and its body."""

from __future__ import annotations

import json

from django.http import HttpResponse

CACHE_HEADER = "X-Cache"
_NOT_STORED = {"set-cookie", CACHE_HEADER.lower()}


def encode_page(response: HttpResponse) -> bytes:
    headers = {name: value for name, value in response.items() if name.lower() not in _NOT_STORED}
    return json.dumps(headers).encode() + b"\n" + response.content


def split_page(page: bytes) -> tuple[dict[str, str], bytes]:
    """The stored headers and body (the one reader of the format)."""
    header_line, _, content = page.partition(b"\n")
    headers: dict[str, str] = json.loads(header_line)
    return headers, content


def decode_page(page: bytes) -> HttpResponse:
    headers, content = split_page(page)
    return HttpResponse(content, headers=headers)
