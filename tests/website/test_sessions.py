"""The site's session engine (signed cookies): a cookie no server signed is no session."""

from importlib import import_module

import pytest
from django.conf import settings

pytestmark = pytest.mark.django_db

SessionStore = import_module(settings.SESSION_ENGINE).SessionStore


@pytest.mark.parametrize("key", ["abcdefgh\x00ijkl", "\x00" * 32, "abcdefgh/../..", "é" * 32, "ab cd ef gh"])
def test_a_session_cookie_no_server_signed_is_no_session(key):
    assert SessionStore(key).load() == {}


def test_a_real_session_still_loads(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("alice"))
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert SessionStore(key).load()["_auth_user_id"]
