"""A response as bytes in Redis and back: its headers (JSON, one line) and its body."""

from __future__ import annotations

import json

from django.http import HttpResponse

CACHE_HEADER = "X-Cache"
_NOT_STORED = {"set-cookie", CACHE_HEADER.lower()}


def encode_page(response: HttpResponse) -> bytes:
    headers = {name: value for name, value in response.items() if name.lower() not in _NOT_STORED}
    return json.dumps(headers).encode() + b"\n" + response.content


def decode_page(page: bytes) -> HttpResponse:
    header_line, _, content = page.partition(b"\n")
    return HttpResponse(content, headers=json.loads(header_line))
