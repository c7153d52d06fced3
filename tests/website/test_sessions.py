import pytest
from django.conf import settings

from website.sessions import SessionStore

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("key", ["abcdefgh\x00ijkl", "\x00" * 32, "abcdefgh/../..", "é" * 32, "ab cd ef gh"])
def test_a_session_key_no_session_could_have_is_no_session(key):
    session = SessionStore(key)
    assert session.session_key is None  # so it never reaches a query
    assert session.load() == {}


def test_a_real_session_still_loads(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("alice"))
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert SessionStore(key).load()["_auth_user_id"]
