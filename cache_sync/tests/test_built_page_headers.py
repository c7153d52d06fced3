"""Pages cache_sync builds itself (a `rebuild` rule, `cache_sync warm`) go through the site's middleware:
they are stored with the headers a visitor's page carries."""

from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client, override_settings

from cache_sync import invalidate_keys, key_rebuilt
from cache_sync.tests import factories
from cache_sync.tests.testapp.models import Tag

pytestmark = pytest.mark.django_db(transaction=True)

SECURITY_HEADERS = ("X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy", "Cross-Origin-Opener-Policy")
WITH_SECURITY = [
    *settings.MIDDLEWARE,
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]


def served(url: str) -> dict[str, str]:
    """The headers of an anonymous hit, as stored (without X-Cache, and the ETag of what it shows)."""
    response = Client().get(url)
    assert response["X-Cache"] == "hit"
    assert response.has_header("ETag")
    return {name: value for name, value in response.items() if name not in ("X-Cache", "ETag")}


@override_settings(MIDDLEWARE=WITH_SECURITY)
def test_rebuilt_warmed_and_visited_pages_carry_the_same_headers():
    factories.tag("verse", "Verse")
    Client().get("/tags/verse/")
    visited = served("/tags/verse/")
    assert all(name in visited for name in SECURITY_HEADERS), visited

    rebuilt_keys = []
    key_rebuilt.connect(
        lambda sender, key, stored, **kw: rebuilt_keys.append((key, stored)), weak=False, dispatch_uid="h"
    )
    try:
        Tag.objects.filter(code="verse").update(label="Poems")  # same length: the same Content-Length
    finally:
        key_rebuilt.disconnect(dispatch_uid="h")
    assert rebuilt_keys == [("tag:verse", True)]
    assert served("/tags/verse/") == visited

    invalidate_keys(["tag:verse"])
    call_command("cache_sync", "warm", stdout=StringIO())
    assert served("/tags/verse/") == visited
