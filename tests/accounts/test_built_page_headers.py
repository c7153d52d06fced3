"""A profile page that cache_sync rebuilt (its rule says "rebuild") or warmed is the page a visitor gets:
the same headers as one a visitor's request stored, the site's security middleware's included."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client

from accounts.models import User

pytestmark = pytest.mark.django_db(transaction=True)  # cache_sync invalidates on real commits

SECURITY_HEADERS = ("X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy", "Cross-Origin-Opener-Policy")
SHOWN_DATA = ("X-Cache", "Content-Length", "X-Data-Version", "ETag")  # what differs with the page's data


def same_headers(one: dict[str, str], other: dict[str, str]) -> bool:
    """The same header names, and the same values but for those of the data shown."""
    return one.keys() == other.keys() and all(one[name] == other[name] for name in one if name not in SHOWN_DATA)


def anonymous_hit(url: str) -> tuple[dict[str, str], bytes]:
    response = Client().get(url)
    assert response["X-Cache"] == "hit"
    assert response.get("Content-Length", str(len(response.content))) == str(len(response.content))
    return {name: value for name, value in response.items() if name != "X-Cache"}, response.content


def test_rebuilt_warmed_and_visited_profiles_carry_the_same_headers(make_user):
    alice = make_user("alice", display_name="Alice of Samarkand")
    url = f"/users/{alice.username}/"
    Client().get(url)
    visited, _ = anonymous_hit(url)
    assert all(name in visited for name in SECURITY_HEADERS), visited

    User.objects.filter(pk=alice.pk).update(display_name="Alice of Bukhara")  # rebuilt after commit
    rebuilt, content = anonymous_hit(url)
    assert "Alice of Bukhara" in content.decode()
    assert same_headers(rebuilt, visited), (rebuilt, visited)

    from cache_sync import invalidate_keys

    invalidate_keys([f"profile:{alice.username}"])
    call_command("cache_sync", "warm", stdout=StringIO())
    warmed, _ = anonymous_hit(url)
    assert same_headers(warmed, visited), (warmed, visited)
