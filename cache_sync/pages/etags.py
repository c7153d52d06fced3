"""ETags of stored pages, and the `304 Not Modified` the front door answers with them.

A page's ETag is a digest of what it shows, taken when it is stored: its body, its headers
and its variant. A write that changes the page changes its ETag (the page built after the
invalidation shows the new data); a page built again unchanged keeps it, which is what a
validator means. The variant is part of it, so a signed-in visitor's page never shares its
ETag with another visitor's, even when they show the same body: a stranger's If-None-Match
cannot learn whether it matches someone else's page.
"""

from __future__ import annotations

import hashlib

from django.http import HttpRequest, HttpResponse, HttpResponseNotModified
from django.utils.http import parse_etags

from .page_bytes import CACHE_HEADER

# Kept in a 304, as RFC 9110 (15.4.5) asks, and as Django's own conditional responses keep them.
_KEPT_IN_304 = ("Cache-Control", "Content-Location", "Date", "ETag", "Expires", "Last-Modified", "Vary", CACHE_HEADER)
_NOT_DIGESTED = {"etag", "set-cookie", CACHE_HEADER.lower()}


def page_etag(variant: str, response: HttpResponse) -> str:
    """The ETag of `response` stored as `variant`: a strong validator of the page it shows."""
    digest = hashlib.blake2b(variant.encode(), digest_size=16)
    for name, value in sorted(response.items()):
        if name.lower() not in _NOT_DIGESTED:
            digest.update(f"\0{name}:{value}".encode())
    digest.update(b"\0\0" + response.content)
    return f'"{digest.hexdigest()}"'


def not_modified(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """`304 Not Modified` if the request's If-None-Match names the response's ETag, else the response."""
    etag = response.get("ETag")
    wanted = parse_etags(request.META.get("HTTP_IF_NONE_MATCH", ""))
    if not etag or not wanted or response.status_code != 200:
        return response
    # The weak comparison (RFC 9110 13.1.2), as If-None-Match uses.
    if "*" not in wanted and etag.removeprefix("W/") not in {tag.removeprefix("W/") for tag in wanted}:
        return response
    answer = HttpResponseNotModified()
    for name in _KEPT_IN_304:
        if name in response:
            answer[name] = response[name]
    return answer
