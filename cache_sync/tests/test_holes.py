"""Pages with holes: one stored copy for every signed-in visitor, their parts filled per request (cache_sync/holes/).

The page under test, /holed/<slug>/, has three holes: a nav fragment with the visitor's name (cached
in their record, kept true by the `auth.User` rule of the test settings), a line for the book's
owner alone, and a CSRF token.
"""

from __future__ import annotations

import time
from http.cookies import SimpleCookie

import pytest
from django.contrib.auth.models import User
from django.core.management.base import CommandError
from django.core.wsgi import get_wsgi_application
from django.middleware.csrf import _unmask_cipher_token  # type: ignore[attr-defined]
from django.test import Client, RequestFactory
from redis.cluster import RedisCluster

from cache_sync.holes import markers, visitors
from cache_sync.holes.markers import Visitor, fill, marker
from cache_sync.store.page_store import get_store
from cache_sync.wsgi import front_door

pytestmark = pytest.mark.django_db(transaction=True)

URL = "/holed/odes/"
SIGNED_COOKIES = "django.contrib.sessions.backends.signed_cookies"


@pytest.fixture
def signed_app(settings):
    """The site with signed-cookie sessions, which the WSGI layer reads (Django's handler loads its
    SessionMiddleware, and the engine it names, when made: after the setting)."""
    settings.SESSION_ENGINE = SIGNED_COOKIES
    return front_door(get_wsgi_application())


def signed_in(name: str, pk: int | None = None) -> tuple[Client, User]:
    user = User.objects.create_user(name, password="x-long-password-1", id=pk)
    client = Client()
    client.force_login(user)
    return client, user


def cookies_of(client: Client) -> dict[str, str]:
    return {name: morsel.value for name, morsel in client.cookies.items()}


def wsgi_get(app, path: str, cookies: dict[str, str]) -> tuple[str, list[tuple[str, str]], bytes]:
    header = "; ".join(f"{name}={value}" for name, value in cookies.items())
    environ = RequestFactory().get(path, HTTP_COOKIE=header).environ
    answer: dict = {}

    def start_response(status, headers, exc_info=None):
        answer.update(status=status, headers=headers)

    body = app(environ, start_response)
    try:
        content = b"".join(body)
    finally:
        getattr(body, "close", lambda: None)()
    return answer["status"], answer["headers"], content


def token_in(content: bytes) -> str:
    return content.decode().split('name="csrfmiddlewaretoken" value="')[1].split('"')[0]


def test_signed_in_visitors_share_one_stored_copy_that_holds_neither_name_nor_token(odes):
    (alice, _), (bob, _) = signed_in("alice"), signed_in("bob")
    first, second = alice.get(URL), bob.get(URL)
    assert (first["X-Cache"], second["X-Cache"]) == ("miss", "hit")  # bob is served the copy alice's visit built
    assert "Signed in as alice" in first.content.decode() and "bob" not in first.content.decode()
    assert "Signed in as bob" in second.content.decode() and "alice" not in second.content.decode()
    stored = get_store("default").cached_variants("book:odes")
    assert len(stored) == 1
    (page,) = stored.values()
    assert b"alice" not in page and b"bob" not in page and b"csrfmiddlewaretoken" not in page
    assert b"Odes" in page


def test_the_owners_line_is_filled_for_the_owner_alone(odes):
    (owner, _), (stranger, _) = signed_in("owner", odes.pk), signed_in("stranger", odes.pk + 1)
    assert "Your own book" in owner.get(URL).content.decode()
    assert "Your own book" not in stranger.get(URL).content.decode()
    assert "Your own book" in owner.get(URL).content.decode()


def test_every_request_gets_a_new_token_of_the_visitors_own_secret_which_django_accepts(odes):
    alice = Client(enforce_csrf_checks=True)
    alice.force_login(User.objects.create_user("alice"))
    bob, _ = signed_in("bob")
    tokens = [token_in(alice.get(URL).content) for _ in range(3)]
    assert len(set(tokens)) == 3
    secret = alice.cookies["csrftoken"].value
    assert {_unmask_cipher_token(token) for token in tokens} == {secret}
    assert _unmask_cipher_token(token_in(bob.get(URL).content)) == bob.cookies["csrftoken"].value != secret
    assert alice.post("/baskets/b/add/", {"item": "ink", "csrfmiddlewaretoken": tokens[0]}).status_code == 200
    bobs = token_in(bob.get(URL).content)
    assert alice.post("/baskets/b/add/", {"item": "ink", "csrfmiddlewaretoken": bobs}).status_code == 403


def test_an_anonymous_visitor_gets_the_parts_in_place_and_a_page_of_their_own(odes):
    signed_in("alice")[0].get(URL)
    page = Client().get(URL).content.decode()
    assert "Log in" in page and "Signed in" not in page and "cache_sync-hole" not in page


def test_a_signed_in_hit_is_answered_before_django_with_the_full_stacks_headers(
    signed_app, odes, requests_django_handled
):
    alice, _ = signed_in("alice")
    alice.get(URL)  # builds the page and alice's record
    through_django = alice.get(URL)
    handled = len(requests_django_handled)
    status, headers, content = wsgi_get(signed_app, URL, cookies_of(alice))
    assert (status, len(requests_django_handled)) == ("200 OK", handled)
    assert "Signed in as alice" in content.decode()
    assert _unmask_cipher_token(token_in(content)) == alice.cookies["csrftoken"].value
    plain = {name: value for name, value in headers if name != "Set-Cookie"}
    assert plain == dict(through_django.items())
    assert plain["Cache-Control"] == "private" and "Cookie" in plain["Vary"] and "ETag" not in plain
    cookies = SimpleCookie()
    for name, value in headers:
        if name == "Set-Cookie":
            cookies.load(value)
    assert set(cookies) == set(through_django.cookies) == {"csrftoken"}
    attributes = ("max-age", "path", "domain", "secure", "httponly", "samesite")
    assert [str(cookies["csrftoken"][a]) for a in attributes] == [
        str(through_django.cookies["csrftoken"][a]) for a in attributes
    ]
    assert cookies["csrftoken"].value == through_django.cookies["csrftoken"].value


def test_the_csrf_cookie_set_before_django_is_the_one_djangos_middleware_sets_at_that_second(settings, monkeypatch):
    from django.http import HttpRequest, HttpResponse
    from django.middleware.csrf import CsrfViewMiddleware

    from cache_sync.pages.page_read import csrf_cookie_header

    def djangos(secret: str) -> str:
        request, response = HttpRequest(), HttpResponse()
        request.META["CSRF_COOKIE"] = secret
        CsrfViewMiddleware(lambda request: response)._set_csrf_cookie(request, response)  # type: ignore[attr-defined]
        return response.cookies[settings.CSRF_COOKIE_NAME].output(header="")

    secret = "a" * 32
    csrf_cookie_header(secret)  # made with the settings of before
    settings.CSRF_COOKIE_SECURE, settings.CSRF_COOKIE_SAMESITE, settings.CSRF_COOKIE_AGE = True, "Strict", 3600
    for now in (1_700_000_000.2, 1_700_000_000.9, 1_700_000_001.0, 1_800_000_000.5):
        monkeypatch.setattr(time, "time", lambda now=now: now)
        assert csrf_cookie_header(secret) == djangos(secret)
        assert csrf_cookie_header("b" * 32) == djangos("b" * 32)


def test_a_signed_in_hit_before_django_says_the_length_of_its_filled_page(settings, odes, requests_django_handled):
    settings.SESSION_ENGINE = SIGNED_COOKIES
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "django.middleware.common.CommonMiddleware"]  # sets Content-Length
    app = front_door(get_wsgi_application())
    alice, _ = signed_in("alice")
    alice.get(URL)
    handled = len(requests_django_handled)
    _, headers, content = wsgi_get(app, URL, cookies_of(alice))
    assert len(requests_django_handled) == handled and b"Signed in as alice" in content
    assert dict(headers)["Content-Length"] == str(len(content))


def test_with_a_database_session_the_same_copy_is_filled_by_django(app, odes, requests_django_handled):
    alice, _ = signed_in("alice")
    alice.get(URL)
    handled = len(requests_django_handled)
    status, headers, content = wsgi_get(app, URL, cookies_of(alice))
    assert (status, len(requests_django_handled)) == ("200 OK", handled + 1)
    assert dict(headers)["X-Cache"] == "hit" and "Signed in as alice" in content.decode()


def test_a_renamed_visitor_sees_the_new_name_on_the_next_request(signed_app, odes):
    alice, user = signed_in("alice")
    alice.get(URL)
    assert b"Signed in as alice" in wsgi_get(signed_app, URL, cookies_of(alice))[2]
    user.username = "alicia"
    user.save()
    assert b"Signed in as alicia" in wsgi_get(signed_app, URL, cookies_of(alice))[2]
    assert b"Signed in as alicia" in wsgi_get(signed_app, URL, cookies_of(alice))[2]


def test_a_session_from_before_a_password_change_is_not_served_before_django(signed_app, odes, requests_django_handled):
    old, user = signed_in("alice")
    old.get(URL)
    user.set_password("another-long-password-2")
    user.save()
    new = Client()
    new.force_login(user)
    new.get(URL)  # alice's record is built again, with the new password's hash
    assert b"Signed in as alice" in wsgi_get(signed_app, URL, cookies_of(new))[2]
    handled = len(requests_django_handled)
    _, _, content = wsgi_get(signed_app, URL, cookies_of(old))
    assert len(requests_django_handled) == handled + 1  # Django decided, and signed the old session out
    assert b"alice" not in content and b"Log in" in content


def test_a_signed_cookie_verified_before_is_refused_once_its_age_has_passed(
    signed_app, odes, requests_django_handled, settings, monkeypatch
):
    settings.SESSION_COOKIE_AGE = 30  # shorter than the pages' and records' lifetime
    alice, _ = signed_in("alice")
    alice.get(URL)
    assert b"Signed in as alice" in wsgi_get(signed_app, URL, cookies_of(alice))[2]  # verified, and remembered
    handled = len(requests_django_handled)
    later = time.time() + 60
    monkeypatch.setattr(time, "time", lambda: later)
    _, _, content = wsgi_get(signed_app, URL, cookies_of(alice))
    assert len(requests_django_handled) == handled + 1  # Django decided: the signature is too old
    assert b"alice" not in content and b"Log in" in content


@pytest.mark.parametrize("setting", ["CSRF_USE_SESSIONS", "SESSION_SAVE_EVERY_REQUEST"])
def test_settings_the_fast_path_cannot_honour_leave_signed_in_hits_to_django(
    settings, odes, requests_django_handled, setting
):
    """CSRF_USE_SESSIONS keeps the secret in the session (a cookie would be the wrong place);
    SESSION_SAVE_EVERY_REQUEST renews the session on every response: Django must answer. (The
    shared copy is stored before the setting changes: a response that renews the session is not.)"""
    settings.SESSION_ENGINE = SIGNED_COOKIES
    alice, _ = signed_in("alice")
    login_only = cookies_of(alice)  # the session as the login left it, before any page added to it
    alice.get(URL)  # the shared copy and alice's record stored
    setattr(settings, setting, True)
    app = front_door(get_wsgi_application())
    handled = len(requests_django_handled)
    _, _, content = wsgi_get(app, URL, login_only)
    assert len(requests_django_handled) == handled + 1 and b"Signed in as alice" in content


def test_a_deactivated_visitor_is_not_served_before_django(signed_app, odes):
    alice, user = signed_in("alice")
    alice.get(URL)
    User.objects.filter(pk=user.pk).update(is_active=False)
    visitors.read_record(str(user.pk))  # the record built again: the visitor is not let in
    _, _, content = wsgi_get(signed_app, URL, cookies_of(alice))
    assert b"alice" not in content and b"Log in" in content


def test_a_malformed_csrf_cookie_is_left_to_django_which_replaces_it(signed_app, odes, requests_django_handled):
    alice, _ = signed_in("alice")
    alice.get(URL)
    handled = len(requests_django_handled)
    _, headers, content = wsgi_get(signed_app, URL, {**cookies_of(alice), "csrftoken": "not-a-token"})
    assert len(requests_django_handled) == handled + 1
    cookie = SimpleCookie()
    for name, value in headers:
        if name == "Set-Cookie":
            cookie.load(value)
    assert _unmask_cipher_token(token_in(content)) == cookie["csrftoken"].value != "not-a-token"


def test_a_page_that_shows_the_session_is_built_for_a_visitor_whose_session_holds_data(signed_app, odes):
    empty, _ = signed_in("bob")
    assert b"empty" in wsgi_get(signed_app, "/holed-baskets/b/", cookies_of(empty))[2]
    assert b"empty" in wsgi_get(signed_app, "/holed-baskets/b/", cookies_of(empty))[2]  # stored: the shared copy
    alice, _ = signed_in("alice")
    alice.post("/baskets/b/add/", {"item": "ink"})
    for _ in range(2):
        content = wsgi_get(signed_app, "/holed-baskets/b/", cookies_of(alice))[2]
        assert b"b basket: ink" in content and b"Signed in as alice" in content


def test_a_record_built_before_a_write_is_not_stored_after_it(odes, monkeypatch):
    """The record's lease: a rename committed while the record was being built leaves nothing stale."""
    user = User.objects.create_user("alice")
    built = visitors.record_of

    def built_then_renamed(who):
        record = built(who)
        User.objects.filter(pk=who.pk).update(username="alicia")  # its rule invalidates the record's key
        return record

    monkeypatch.setattr(visitors, "record_of", built_then_renamed)
    assert "alice" in visitors.read_record(str(user.pk))["fragments"]["nav"]
    assert visitors.peek_record(str(user.pk)) is None


def test_a_marker_without_the_sites_secret_is_left_as_written():
    visitor = Visitor("1", {"nav": "alice's nav"})
    forged = b"<!--cache_sync-hole:" + b"0" * 16 + b":nav-->"
    assert fill(b"a " + forged + b" b", visitor) == b"a " + forged + b" b"
    assert fill(f"a {marker('nav', ())} b".encode(), visitor) == b"a alice's nav b"


def test_a_holes_arguments_cannot_end_its_marker():
    seen = []
    markers.register_hole("echo", lambda visitor, *arguments: seen.extend(arguments) or "")
    fill(marker("echo", ("x-->y", "two words")).encode() + b"tail", Visitor(None, {}))
    assert seen == ["x-->y", "two words"]


def test_a_mask_is_a_token_djangos_middleware_reads_back_and_every_character_is_drawn():
    from django.middleware.csrf import CSRF_ALLOWED_CHARS

    from cache_sync.holes.csrf import mask, random_chars

    secret = random_chars()
    tokens = {mask(secret) for _ in range(200)}
    assert len(tokens) == 200 and {_unmask_cipher_token(token) for token in tokens} == {secret}
    assert set("".join(random_chars(64) for _ in range(200))) == set(CSRF_ALLOWED_CHARS)


def test_a_signed_in_hit_with_a_signed_cookie_session_is_one_round_trip_to_redis(
    signed_app, odes, redis_round_trips, redis_client
):
    # On a cluster the record and the page lie in two slots: one round trip to the node of each.
    expected = 2 if isinstance(redis_client, RedisCluster) else 1
    alice, _ = signed_in("alice")
    alice.get(URL)
    wsgi_get(signed_app, URL, cookies_of(alice))  # the connection has learnt its server's run
    before = redis_round_trips()
    _, headers, content = wsgi_get(signed_app, URL, cookies_of(alice))
    assert b"Signed in as alice" in content and dict(headers)["X-Cache"] == "hit"
    assert redis_round_trips() - before == expected  # the visitor's record and the page, in one


def test_verify_checks_the_shared_copy_and_the_visitors_records(odes):
    from io import StringIO

    from django.core.management import call_command
    from django.db import connection

    from cache_sync.tests.test_commands import triggers_dropped

    alice, user = signed_in("alice")
    alice.get(URL)
    out = StringIO()
    call_command("cache_sync", "verify", stdout=out)
    assert "Checked 2 cached page variant(s): 0 key(s) differ" in out.getvalue()  # the copy, alice's record
    with triggers_dropped("auth_user"), connection.cursor() as cursor:
        cursor.execute("UPDATE auth_user SET username = 'alicia'")
        out = StringIO()
        with pytest.raises(CommandError, match="differ from the database"):
            call_command("cache_sync", "verify", stdout=out)
    assert f"differs: visitor:{user.pk}" in out.getvalue()


def test_a_page_stored_between_the_records_read_and_the_pages_lease_is_served_filled(
    signed_app, odes, requests_django_handled, monkeypatch
):
    """The record's read found no page; the page's own read (the lease) found one another build stored."""
    from cache_sync.store.page_store import PageStore

    alice, _ = signed_in("alice")
    alice.get(URL)
    peek_many = PageStore.peek_many
    monkeypatch.setattr(PageStore, "peek_many", lambda self, wanted: [peek_many(self, wanted)[0], None])
    handled = len(requests_django_handled)
    _, headers, content = wsgi_get(signed_app, URL, cookies_of(alice))
    assert len(requests_django_handled) == handled  # a hit: answered before Django, filled
    assert b"Signed in as alice" in content and b"cache_sync-hole" not in content
    assert dict(headers)["Cache-Control"] == "private"
