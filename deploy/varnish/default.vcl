vcl 4.1;
# Varnish in front of the site: caches the pages cache_sync keeps true (those naming their keys in
# `xkey`), purges them by key (vmod xkey, Debian's varnish-modules) when cache_sync's relay says so.
# The backend is `make run`'s gunicorn; tools/harness/varnish.py points it at a test's site instead.

import xkey;

backend default {
    .host = "127.0.0.1";
    .port = "8000";
}

# Who may purge: the relay runs beside the site. Anyone else's PURGE is refused.
acl purgers {
    "127.0.0.1";
    "::1";
}

sub vcl_recv {
    if (req.method == "PURGE") {
        if (client.ip !~ purgers) {
            return (synth(403, "Forbidden"));
        }
        if (req.http.xkey-purge) {
            set req.http.n-gone = xkey.purge(req.http.xkey-purge);
        } elif (req.http.xkey-softpurge) {
            set req.http.n-gone = xkey.softpurge(req.http.xkey-softpurge);
        } else {
            return (synth(400, "No xkey-purge header"));
        }
        return (synth(200, "Purged " + req.http.n-gone));
    }
    if (req.method != "GET" && req.method != "HEAD") {
        return (pass);
    }
    # A signed-in visitor's pages are theirs (cache_sync marks them private): never from the shared cache.
    if (req.http.Cookie ~ "(^|;\s*)sessionid=") {
        return (pass);
    }
    # Other cookies (csrftoken, analytics) do not change a cached page: anonymous visitors share it.
    unset req.http.Cookie;
}

sub vcl_backend_response {
    # Only what a purge can reach is kept: a page without keys would stay stale for its whole TTL.
    if (!beresp.http.xkey || beresp.http.Set-Cookie) {
        set beresp.uncacheable = true;
        set beresp.ttl = 0s;
        return (deliver);
    }
    # The TTL of a page is a safety net, as CACHE_SYNC["TIMEOUT"] is in Redis; purges keep it true.
    if (!beresp.http.Cache-Control ~ "s-maxage") {
        set beresp.ttl = 10m;
    }
    set beresp.grace = 0s;
}

sub vcl_deliver {
    if (obj.hits > 0) {
        set resp.http.X-Edge = "hit";
    } else {
        set resp.http.X-Edge = "miss";
    }
}
