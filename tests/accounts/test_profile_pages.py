"""Public profiles are cached per visitor and kept true; the owner edits theirs at /accounts/profile/."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import User
from tests.factories import without_csrf_token

pytestmark = pytest.mark.django_db(transaction=True)  # cache_sync invalidates on real commits

EDIT_LINK = 'href="/accounts/profile/"'
EDIT_TEXT = "Edit your profile"


@pytest.fixture
def alice(make_user):
    return make_user("alice", display_name="Alice of Samarkand", bio="Weaver.")


def test_second_request_of_a_profile_is_a_hit(client_factory, alice, make_user):
    visitor = client_factory(make_user("bob"))
    first, second = visitor.get("/users/alice/"), visitor.get("/users/alice/")
    assert (first["X-Cache"], second["X-Cache"]) == ("miss", "hit")
    assert without_csrf_token(second.content) == without_csrf_token(first.content)
    assert "Alice of Samarkand" in second.content.decode()


def test_the_anonymous_profile_page_is_rebuilt_after_commit(client, alice):
    """The rule's action is "rebuild": the first anonymous reader already hits."""
    assert client.get("/users/alice/")["X-Cache"] == "hit"


def test_an_inactive_users_profile_is_404(client, make_user):
    make_user("pending", is_active=False)
    assert client.get("/users/pending/").status_code == 404


def test_a_bio_saved_in_the_profile_form_shows_at_the_next_request(client, alice):
    client.get("/users/alice/")
    assert client.get("/users/alice/")["X-Cache"] == "hit"
    client.force_login(alice)
    response = client.post("/accounts/profile/", {"display_name": "Alice", "bio": "Weaver of silk."})
    assert response.status_code == 302
    client.logout()
    html = client.get("/users/alice/").content.decode()
    assert "Weaver of silk." in html and "<h1>Alice</h1>" in html


def test_a_bio_change_in_the_model_shows_at_the_next_request(client, alice):
    client.get("/users/alice/")
    alice.bio = "Dyer."
    alice.save()
    assert "Dyer." in client.get("/users/alice/").content.decode()


def test_a_renamed_user_is_served_at_the_new_url_and_404_at_the_old(client, alice):
    client.get("/users/alice/")
    assert client.get("/users/alice/")["X-Cache"] == "hit"
    alice.username = "alicia"
    alice.save()
    assert client.get("/users/alice/").status_code == 404
    response = client.get("/users/alicia/")
    assert response.status_code == 200
    assert "@alicia" in response.content.decode()


def test_activation_makes_the_profile_visible(client, make_user):
    from accounts.mail import activation_path

    pending = make_user("pending", is_active=False)
    assert client.get("/users/pending/").status_code == 404
    assert client.get(activation_path(pending)).status_code == 200
    assert client.get("/users/pending/").status_code == 200


def test_the_owner_sees_the_edit_link_and_later_visitors_do_not(client_factory, alice, make_user):
    owner, anonymous, stranger = client_factory(alice), client_factory(None), client_factory(make_user("bob"))
    for _ in range(2):
        response = owner.get("/users/alice/")
        assert EDIT_TEXT in response.content.decode() and EDIT_LINK in response.content.decode()
    assert response["X-Cache"] == "hit"
    for visitor in (anonymous, stranger, anonymous, stranger):
        response = visitor.get("/users/alice/")
        html = response.content.decode()
        assert response.status_code == 200
        assert EDIT_TEXT not in html
    assert response["X-Cache"] == "hit"  # each visitor's own variant, now cached too


def test_an_owner_after_anonymous_visitors_still_sees_the_edit_link(client_factory, alice):
    anonymous, owner = client_factory(None), client_factory(alice)
    anonymous.get("/users/alice/")
    assert anonymous.get("/users/alice/")["X-Cache"] == "hit"
    assert EDIT_TEXT in owner.get("/users/alice/").content.decode()


def test_each_visitor_sees_their_own_name_in_the_nav(client_factory, alice, make_user):
    owner, stranger, anonymous = client_factory(alice), client_factory(make_user("bob")), client_factory(None)
    owner.get("/users/alice/")
    assert "Signed in as bob" in stranger.get("/users/alice/").content.decode()
    html = anonymous.get("/users/alice/").content.decode()
    assert "Signed in as" not in html
    assert 'href="/accounts/login/"' in html and 'href="/accounts/register/"' in html


def test_each_visit_of_a_cached_profile_gets_a_new_token_of_the_visitors_own_secret(client_factory, alice):
    from django.middleware.csrf import _unmask_cipher_token

    owner = client_factory(alice)
    secrets, tokens = set(), set()
    for _ in range(3):
        response = owner.get("/users/alice/")
        token = response.content.decode().split('name="csrfmiddlewaretoken" value="')[1].split('"')[0]
        tokens.add(token)
        secrets.add(_unmask_cipher_token(token))
        assert response.cookies["csrftoken"].value in secrets  # renewed, as Django renews a used one
    assert response["X-Cache"] == "hit"
    assert len(tokens) == 3 and len(secrets) == 1


def test_profile_edit_requires_login(client):
    response = client.get("/accounts/profile/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/accounts/profile/")


def test_profile_edit_page_is_not_cached_and_holds_the_logout_form(client, alice):
    client.force_login(alice)
    response = client.get("/accounts/profile/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "X-Cache" not in response
    assert 'action="/accounts/logout/"' in html and "csrfmiddlewaretoken" in html
    assert 'value="Alice of Samarkand"' in html


def test_profile_edit_refuses_an_over_long_display_name(client, alice):
    client.force_login(alice)
    response = client.post("/accounts/profile/", {"display_name": "x" * 101, "bio": ""})
    assert response.status_code == 200
    assert "display_name" in response.context["form"].errors
    assert User.objects.get(pk=alice.pk).display_name == "Alice of Samarkand"


def test_profile_edit_writes_only_its_own_fields(client, alice):
    client.force_login(alice)
    version = User.objects.get(pk=alice.pk).version
    User.objects.filter(pk=alice.pk).update(email="changed@example.test")  # e.g. by staff meanwhile
    client.post("/accounts/profile/", {"display_name": "Alice", "bio": "New."})
    alice.refresh_from_db()
    # Both writes raise the version: the update() too (a trigger assigns it on every write path).
    assert (alice.email, alice.bio, alice.version) == ("changed@example.test", "New.", version + 2)


def test_logging_in_does_not_rebuild_the_public_profile(client, alice):
    """The rule's `fields` leave out last_login: a login is no change of the page."""
    from cache_sync import key_rebuilt

    rebuilt = []
    key_rebuilt.connect(lambda sender, key, **kwargs: rebuilt.append(key), weak=False, dispatch_uid="login-test")
    try:
        alice.set_password("a long passphrase 1")
        alice.save()
        client.get(f"/users/{alice.username}/")
        rebuilt.clear()
        assert client.login(username=alice.username, password="a long passphrase 1")
        assert rebuilt == []
        assert Client().get(f"/users/{alice.username}/")["X-Cache"] == "hit"  # the anonymous page is kept
    finally:
        key_rebuilt.disconnect(dispatch_uid="login-test")


@pytest.mark.parametrize("path", ["/users/%00/", "/users/al%00ice/", "/users/%0A/", "/staff/users/%00/"])
def test_a_control_character_in_a_username_url_is_404_never_500(client, alice, path, settings):
    settings.STAFF_API_TOKEN = "token"
    response = client.get(path) if path.startswith("/users/") else client.post(path)
    assert response.status_code == 404
