"""Signed-in visitors of the site's cached pages: one shared copy, their nav and token filled per visit.

Requests go through the site's WSGI application (cache_sync's front door, then Django), as gunicorn
sends them; the full stack alone is Django's test client.
"""

from __future__ import annotations

import os
import random
import re
from http.cookies import SimpleCookie

import pytest
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.signed_cookies import SessionStore
from django.core.signals import request_started
from django.core.wsgi import get_wsgi_application
from django.middleware.csrf import _unmask_cipher_token
from django.test import Client, RequestFactory

from accounts.models import User
from cache_sync import suspended
from cache_sync.wsgi import front_door
from tests.factories import make_category, make_product

pytestmark = pytest.mark.django_db(transaction=True)  # cache_sync invalidates on real commits

PAGES = ["/", "/categories/tea/", "/products/jade-teapot/"]
NAME = re.compile(r"\b(?:visitor|renamed)\d{4}(?:r\d+)?\b")


@pytest.fixture
def app():
    return front_door(get_wsgi_application())


@pytest.fixture(autouse=True)
def catalog():
    make_product(make_category("tea"), "jade-teapot")


class Browser:
    """A visitor's cookies, sent to the WSGI application and updated from its answers."""

    def __init__(self, app, session: str = "") -> None:
        self.app = app
        self.cookies = {settings.SESSION_COOKIE_NAME: session} if session else {}

    def get(self, path: str) -> tuple[dict[str, str], bytes, SimpleCookie]:
        environ = RequestFactory().get(path, HTTP_COOKIE="; ".join(f"{k}={v}" for k, v in self.cookies.items())).environ
        answer: dict = {}

        def start_response(status, headers, exc_info=None):
            answer.update(status=status, headers=headers)

        body = self.app(environ, start_response)
        try:
            content = b"".join(body)
        finally:
            getattr(body, "close", lambda: None)()
        assert answer["status"] == "200 OK", (path, answer["status"])
        cookies = SimpleCookie()
        for name, value in answer["headers"]:
            if name == "Set-Cookie":
                cookies.load(value)
        self.cookies.update({name: morsel.value for name, morsel in cookies.items() if morsel.value})
        return {name: value for name, value in answer["headers"] if name != "Set-Cookie"}, content, cookies


def session_of(user: User) -> str:
    """A signed-cookie session signing `user` in, as `login()` writes it."""
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    return session.session_key


def nav_of(content: bytes) -> str:
    html = content.decode()
    return html[html.index("<nav>") : html.index("</nav>")]


def token_of(content: bytes) -> str | None:
    found = re.search(r'name="csrfmiddlewaretoken" value="(\w+)"', content.decode())
    return found.group(1) if found else None


@pytest.mark.parametrize("path", [*PAGES, "/users/alice/"])
def test_a_signed_in_hit_before_django_has_the_headers_and_page_of_the_full_stack(app, path):
    alice = User.objects.create_user("alice", password="x-long-password-1")
    browser = Browser(app, session_of(alice))
    browser.get(path)  # the shared copy and alice's record are built
    handled = []
    request_started.connect(lambda **kwargs: handled.append(1), weak=False, dispatch_uid="test-handled")
    try:
        headers, content, cookies = browser.get(path)
    finally:
        request_started.disconnect(dispatch_uid="test-handled")
    assert handled == []  # answered before Django's handler
    client = Client()
    for name, value in browser.cookies.items():
        client.cookies[name] = value
    full_stack = client.get(path)
    assert headers == dict(full_stack.items())
    assert headers["X-Cache"] == "hit" and headers["Cache-Control"] == "private"
    assert headers["Content-Length"] == str(len(content))
    for header in ("X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy", "Cross-Origin-Opener-Policy"):
        assert header in headers
    assert set(cookies) == set(full_stack.cookies) == {"csrftoken"}
    assert cookies["csrftoken"].value == full_stack.cookies["csrftoken"].value
    attributes = ("max-age", "path", "samesite", "secure", "httponly")
    assert [str(cookies["csrftoken"][a]) for a in attributes] == [
        str(full_stack.cookies["csrftoken"][a]) for a in attributes
    ]
    assert re.sub(rb'value="\w{64}"', b"", content) == re.sub(rb'value="\w{64}"', b"", full_stack.content)
    assert "Signed in as alice" in nav_of(content)


def test_a_renamed_visitor_sees_the_new_name_in_the_nav_of_every_page_at_the_next_request(app):
    alice = User.objects.create_user("alice", password="x-long-password-1")
    browser = Browser(app, session_of(alice))
    for path in PAGES:
        browser.get(path)
        assert "Signed in as alice" in nav_of(browser.get(path)[1])
    alice.username = "alicia"
    alice.save()
    for path in PAGES:
        assert "Signed in as alicia" in nav_of(browser.get(path)[1])


def test_edit_your_profile_shows_on_ones_own_profile_alone(app):
    alice, bob = (User.objects.create_user(name, password="x-long-password-1") for name in ("alice", "bob"))
    own, stranger = Browser(app, session_of(alice)), Browser(app, session_of(bob))
    for _ in range(2):
        assert b"Edit your profile" in own.get("/users/alice/")[1]
        assert b"Edit your profile" not in stranger.get("/users/alice/")[1]
        assert b"Edit your profile" not in Browser(app).get("/users/alice/")[1]


def test_a_thousand_visitors_in_random_order_each_see_only_their_own_name_token_and_pages(app):
    """Signed-in visitors and strangers browse at random while some are renamed: each answer is checked."""
    seed = int(os.environ.get("SIGNED_IN_SEED", random.randrange(10**6)))
    rng = random.Random(seed)
    with suspended():  # new users: no page of theirs is cached yet, none to rebuild
        User.objects.bulk_create(User(username=f"visitor{i:04d}", password="!") for i in range(1000))
    users = list(User.objects.filter(username__startswith="visitor").order_by("pk"))
    names = {user.pk: user.username for user in users}
    browsers = {user.pk: Browser(app, session_of(user)) for user in users}
    anonymous = Browser(app)
    visits = [user.pk for user in users for _ in range(3)]
    rng.shuffle(visits)
    for n, pk in enumerate(visits):
        if n % 100 == 99:  # a visitor renamed in the admin
            renamed = rng.choice(users)
            renamed.username = names[renamed.pk] = f"renamed{n:04d}"
            renamed.save()
        if n % 10 == 0:
            headers, content, _ = anonymous.get(rng.choice(PAGES))
            assert "Signed in" not in content.decode() and not NAME.search(content.decode()), seed
        other = rng.choice(users)
        path = rng.choice([*PAGES, f"/users/{names[pk]}/", f"/users/{names[other.pk]}/"])
        browser = browsers[pk]
        headers, content, _ = browser.get(path)
        html = content.decode()
        assert NAME.findall(nav_of(content)) == [names[pk]], (seed, path)
        shown = set(NAME.findall(html))
        owner = path.removeprefix("/users/").strip("/") if path.startswith("/users/") else None
        assert shown <= {names[pk], owner}, (seed, path, shown)
        assert ("Edit your profile" in html) == (owner == names[pk]), (seed, path)
        assert _unmask_cipher_token(token_of(content)) == browser.cookies["csrftoken"], (seed, path)
        assert "private" in headers["Cache-Control"]
