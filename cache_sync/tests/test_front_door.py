"""The front door and the store after every middleware: Django's page-cache rules, bounded variants,
signed-in pages, async views, a paused Redis."""

import time

import pytest
from asgiref.sync import async_to_sync
from django.conf import settings
from django.test import AsyncClient, Client, override_settings

from cache_sync.tests import factories
from cache_sync.tests.helpers import cached, page, python_path
from cache_sync.tests.testapp import middleware
from cache_sync.tests.testapp.models import Book

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def odes():
    return factories.book(factories.shelf("poetry"), "odes", "Odes")


def test_an_anonymous_hit_is_answered_before_the_rest_of_the_stack(odes, django_assert_num_queries):
    client = Client()
    client.get("/books/odes/")
    middleware.calls.clear()
    with django_assert_num_queries(0):
        response = client.get("/books/odes/")
    assert response["X-Cache"] == "hit"
    assert middleware.calls == []  # sessions, auth, CSRF, messages: none ran


def test_a_miss_goes_through_the_stack_and_is_stored_after_it(odes):
    middleware.calls.clear()
    assert Client().get("/books/odes/")["X-Cache"] == "miss"
    assert middleware.calls == ["/books/odes/"]


def test_an_answer_from_a_middleware_instead_of_the_view_is_not_stored(page_family):
    assert Client().get("/short-circuit/a/").content == b"answered by a middleware"
    assert Client().get("/short-circuit/a/").get("X-Cache") is None
    assert not any(field.startswith(b"b:") for field in page_family("plain:a"))


def test_a_page_that_touched_the_csrf_token_is_never_stored():
    first = Client().get("/forms/signup/")
    assert settings.CSRF_COOKIE_NAME in first.cookies
    second = Client().get("/forms/signup/")
    assert second["X-Cache"] == "miss"
    assert first.cookies[settings.CSRF_COOKIE_NAME].value != second.cookies[settings.CSRF_COOKIE_NAME].value


def test_a_cookie_added_by_middleware_after_the_view_is_seen():
    assert Client().get("/marked/a/")["X-Cache"] == "miss"
    assert Client().get("/marked/a/")["X-Cache"] == "miss"
    assert Client().get("/plain/a/")["X-Cache"] == "miss"
    assert Client().get("/plain/a/")["X-Cache"] == "hit"  # the same view without that middleware's cookie


def test_a_vary_header_the_variant_does_not_key_on_is_not_stored():
    client = Client()
    assert client.get("/lang/a/", HTTP_ACCEPT_LANGUAGE="fr")["X-Cache"] == "miss"
    response = client.get("/lang/a/", HTTP_ACCEPT_LANGUAGE="de")
    assert (response["X-Cache"], response.content) == ("miss", b"a in de")


def test_a_vary_header_the_variant_keys_on_is_stored_per_value():
    client = Client()
    client.get("/lang-keyed/a/", HTTP_ACCEPT_LANGUAGE="fr")
    client.get("/lang-keyed/a/", HTTP_ACCEPT_LANGUAGE="de")
    french = client.get("/lang-keyed/a/", HTTP_ACCEPT_LANGUAGE="fr")
    german = client.get("/lang-keyed/a/", HTTP_ACCEPT_LANGUAGE="de")
    assert (french["X-Cache"], french.content, german["X-Cache"], german.content) == (
        "hit",
        b"a in fr",
        "hit",
        b"a in de",
    )


def test_a_page_the_view_marked_private_is_not_stored():
    assert Client().get("/private/a/")["X-Cache"] == "miss"
    assert Client().get("/private/a/")["X-Cache"] == "miss"


def test_two_url_patterns_under_one_key_template_keep_their_own_pages():
    client = Client()
    cached(client, "/twins/x/", "/twins/x/reviews/")
    assert page(client, "/twins/x/") == "detail of x"
    assert page(client, "/twins/x/reviews/") == "reviews of x"


@pytest.fixture
def alice(django_user_model):
    return django_user_model.objects.create_user("alice")


def test_signed_in_pages_are_private_and_theirs(alice):
    client = Client()
    client.force_login(alice)
    first, second = client.get("/greetings/home/"), client.get("/greetings/home/")
    assert (first["X-Cache"], second["X-Cache"]) == ("miss", "hit")
    for response in (first, second):
        assert "private" in response["Cache-Control"] and "Cookie" in response["Vary"]
    assert page(Client(), "/greetings/home/").startswith("hello stranger")
    assert "private" not in Client().get("/greetings/home/").get("Cache-Control", "")


def test_a_renamed_visitor_sees_the_new_name_on_their_own_cached_pages_at_once(alice, django_user_model):
    client = Client()
    client.force_login(alice)
    cached(client, "/greetings/home/")
    django_user_model.objects.filter(pk=alice.pk).update(username="alicia")
    assert page(client, "/greetings/home/").startswith("hello alicia")


def test_a_family_that_gets_new_variants_forever_keeps_only_the_live_ones(page_family):
    with override_settings(CACHE_SYNC={**settings.CACHE_SYNC, "TIMEOUT": 0.05}):
        for n in range(40):
            Client().get(f"/greetings/home/?v={n}")
        time.sleep(0.06)
        for n in range(40, 60):
            Client().get(f"/greetings/home/?v={n}")
    pages = [field for field in page_family("greeting:home") if field.startswith(b"b:")]
    assert 1 <= len(pages) <= 20


def test_a_family_holds_at_most_max_variants():
    with override_settings(CACHE_SYNC={**settings.CACHE_SYNC, "MAX_VARIANTS": 10}):
        for n in range(30):
            Client().get(f"/greetings/home/?v={n}")
        assert Client().get("/greetings/home/?v=3")["X-Cache"] == "hit"  # the first ones are kept
        assert Client().get("/greetings/home/?v=29")["X-Cache"] == "miss"  # the later ones are served, not stored


def test_a_long_query_value_is_served_but_never_stored():
    junk = "x" * 65
    assert Client().get(f"/greetings/home/?v={junk}")["X-Cache"] == "miss"
    assert Client().get(f"/greetings/home/?v={junk}")["X-Cache"] == "miss"


def test_an_async_view_under_the_sync_client(odes):
    client = Client()
    assert client.get("/async-books/odes/")["X-Cache"] == "miss"
    response = client.get("/async-books/odes/")
    assert (response["X-Cache"], response.content) == ("hit", b"Odes (async)")


def test_an_async_view_under_the_async_client(odes):
    @async_to_sync
    async def scenario():
        client = AsyncClient()
        assert (await client.get("/async-books/odes/"))["X-Cache"] == "miss"
        assert (await client.get("/async-books/odes/"))["X-Cache"] == "hit"
        await Book.objects.filter(slug="odes").aupdate(title="Async Odes")
        response = await client.get("/async-books/odes/")
        assert (response["X-Cache"], response.content) == ("miss", b"Async Odes (async)")

    scenario()


def test_a_sync_view_under_the_async_client(odes):
    @async_to_sync
    async def scenario():
        client = AsyncClient()
        await client.get("/books/odes/")
        assert (await client.get("/books/odes/"))["X-Cache"] == "hit"

    scenario()


def test_without_the_front_door_the_decorator_stores_and_hits(odes):
    without = [m for m in settings.MIDDLEWARE if "front_door" not in m]
    with override_settings(MIDDLEWARE=without):
        client = Client()
        assert [client.get("/books/odes/")["X-Cache"] for _ in range(2)] == ["miss", "hit"]


def test_a_paused_redis_costs_one_timeout_per_back_off_and_serves_the_database(odes, own_redis, cache_on, settings):
    cache_on(own_redis.url)
    settings.CACHES = {
        "default": {**settings.CACHES["default"], "OPTIONS": {"SOCKET_TIMEOUT": 0.05, "SOCKET_CONNECT_TIMEOUT": 0.05}}
    }
    client = Client()
    cached(client, "/books/odes/")
    own_redis.pause()
    try:
        started = time.monotonic()
        responses = [client.get("/books/odes/") for _ in range(20)]
        elapsed = time.monotonic() - started
        assert [r.status_code for r in responses] == [200] * 20
        assert {r["X-Cache"] for r in responses} == {"miss"}
        Book.objects.update(title="Written while paused")  # its delivery waits in the outbox
        assert "Written while paused" in page(client, "/books/odes/")
        assert elapsed < 1.0  # one 50 ms timeout, then Redis is skipped: not 20 timeouts
    finally:
        own_redis.resume()
    time.sleep(settings.CACHE_SYNC.get("REDIS_BACKOFF", 1.0) + 0.1)
    Book.objects.filter(slug="odes").update(times_opened=1)  # the writer's next write delivers what waited
    assert "Written while paused" in page(client, "/books/odes/")
    cached(client, "/books/odes/")  # caching again


def test_after_an_outage_a_reader_delivers_what_other_writers_left_before_it_serves_hits(
    odes, own_redis, cache_on, settings, site_env
):
    """Redis paused: a writer in another process commits and cannot invalidate. When Redis is back, a reader
    that saw it fail delivers the outbox before serving from Redis again, without waiting for a relay."""
    import subprocess
    import sys
    from pathlib import Path

    cache_on(own_redis.url)
    client = Client()
    cached(client, "/books/odes/")
    own_redis.pause()
    try:
        assert client.get("/books/odes/")["X-Cache"] == "miss"  # this reader sees Redis fail
        root = Path(__file__).resolve().parents[2]
        env = {
            **site_env,
            "DJANGO_SETTINGS_MODULE": "cache_sync.tests.settings",
            "PYTHONPATH": python_path(root),
            "REDIS_URL": own_redis.url,
            "CACHE_SYNC_TEST_TOPOLOGY": "single",
        }
        update = "from cache_sync.tests.testapp.models import Book; Book.objects.update(title='Elsewhere')"
        subprocess.run([sys.executable, "-m", "django", "shell", "-c", update], env=env, cwd=root, check=True)
    finally:
        own_redis.resume()
    time.sleep(settings.CACHE_SYNC.get("REDIS_BACKOFF", 1.0) + 0.1)
    response = client.get("/books/odes/")
    assert "Elsewhere" in response.content.decode()
