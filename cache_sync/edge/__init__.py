"""The edge (a CDN or Varnish in front of the site): surrogate keys on cached pages, purged by the delivery.

    CACHE_SYNC["EDGE"] = {
        "BACKEND": "cache_sync.edge.backends.Varnish",   # or .Fastly, .Cloudflare, or your own EdgeBackend
        "OPTIONS": {"urls": ["http://127.0.0.1:6081"]},  # the backend's own keyword arguments
        "HEADER": "xkey",                                # default: the backend's (xkey, Surrogate-Key, Cache-Tag)
    }

surrogate.py names a page's keys in its response header; queue.py records the keys a delivery
deleted from Redis, in the transaction that removes the delivered outbox entries; purger.py (a
thread of the relay) sends them to the backend (backends.py) and forgets them once it answered.
"""
