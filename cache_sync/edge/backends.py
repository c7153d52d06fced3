"""Purge by surrogate key: Varnish (vmod xkey), Fastly, Cloudflare; or a class of yours.

A backend takes its options as keyword arguments (CACHE_SYNC["EDGE"]["OPTIONS"]) and raises
TypeError or ValueError for a wrong one (the system check cache_sync.E063 names it). `purge`
sends every key, in batches under the vendor's limit, and raises EdgeUnavailable unless all were
taken: the purger then keeps them queued (a batch sent twice is harmless).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence

from .transport import send

__all__ = ["Cloudflare", "EdgeBackend", "Fastly", "Varnish"]


class EdgeBackend:
    header = "Surrogate-Key"  # the response header the edge reads a page's keys from
    batch = 256  # keys per purge request

    def purge(self, keys: Sequence[str]) -> None:
        raise NotImplementedError

    def batches(self, keys: Sequence[str]) -> Iterator[list[str]]:
        for start in range(0, len(keys), self.batch):
            yield list(keys[start : start + self.batch])


class Varnish(EdgeBackend):
    """`PURGE /` with the keys in an `xkey-purge` header, to each Varnish (deploy/varnish/default.vcl).

    A batch is bounded by the header's size: Varnish refuses a request header longer than its
    http_req_hdr_len (8 KiB by default), so a batch stays under MAX_HEADER characters.
    """

    header = "xkey"
    MAX_HEADER = 4000

    def __init__(self, urls: Sequence[str], *, soft: bool = False, timeout: float = 5.0) -> None:
        if isinstance(urls, str) or not urls or not all(_is_http(url) for url in urls):
            raise ValueError(f"urls must be a list of http(s) URLs of Varnish servers, not {urls!r}")
        self.urls = [url.rstrip("/") + "/" for url in urls]
        self.soft = bool(soft)
        self.timeout = _positive(timeout, "timeout")

    def batches(self, keys: Sequence[str]) -> Iterator[list[str]]:
        batch: list[str] = []
        size = 0
        for key in keys:
            if batch and size + len(key) + 1 > self.MAX_HEADER:
                yield batch
                batch, size = [], 0
            batch.append(key)
            size += len(key) + 1
        if batch:
            yield batch

    def purge(self, keys: Sequence[str]) -> None:
        name = "xkey-softpurge" if self.soft else "xkey-purge"
        for batch in self.batches(keys):
            for url in self.urls:
                send("PURGE", url, {name: " ".join(batch)}, timeout=self.timeout)


class Fastly(EdgeBackend):
    """Fastly's purge by surrogate key: `POST /service/<id>/purge`, at most 256 keys a request."""

    header = "Surrogate-Key"
    batch = 256

    def __init__(
        self,
        service_id: str,
        token: str,
        *,
        soft: bool = False,
        api_url: str = "https://api.fastly.com",
        timeout: float = 5.0,
    ) -> None:
        if not service_id or not isinstance(service_id, str) or not token or not isinstance(token, str):
            raise ValueError("service_id and token must be non-empty strings")
        if not _is_http(api_url):
            raise ValueError(f"api_url must be an http(s) URL, not {api_url!r}")
        self.url = f"{api_url.rstrip('/')}/service/{service_id}/purge"
        self.token = token
        self.soft = bool(soft)
        self.timeout = _positive(timeout, "timeout")

    def purge(self, keys: Sequence[str]) -> None:
        headers = {"Fastly-Key": self.token, "Content-Type": "application/json", "Accept": "application/json"}
        if self.soft:
            headers["Fastly-Soft-Purge"] = "1"
        for batch in self.batches(keys):
            send("POST", self.url, headers, json.dumps({"surrogate_keys": batch}).encode(), timeout=self.timeout)


class Cloudflare(EdgeBackend):
    """Cloudflare's purge by cache tag: `POST /zones/<id>/purge_cache`, at most 100 tags a request
    (the limit of "max operations per request" on every plan, developers.cloudflare.com/cache/how-to/purge-cache/)."""

    header = "Cache-Tag"
    batch = 100

    def __init__(
        self,
        zone_id: str,
        token: str,
        *,
        api_url: str = "https://api.cloudflare.com/client/v4",
        timeout: float = 5.0,
    ) -> None:
        if not zone_id or not isinstance(zone_id, str) or not token or not isinstance(token, str):
            raise ValueError("zone_id and token must be non-empty strings")
        if not _is_http(api_url):
            raise ValueError(f"api_url must be an http(s) URL, not {api_url!r}")
        self.url = f"{api_url.rstrip('/')}/zones/{zone_id}/purge_cache"
        self.token = token
        self.timeout = _positive(timeout, "timeout")

    def purge(self, keys: Sequence[str]) -> None:
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        for batch in self.batches(keys):
            send("POST", self.url, headers, json.dumps({"tags": batch}).encode(), timeout=self.timeout)


def _is_http(url: object) -> bool:
    return isinstance(url, str) and url.startswith(("http://", "https://"))


def _positive(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ValueError(f"{name} must be a positive number of seconds, not {value!r}")
    return float(value)
