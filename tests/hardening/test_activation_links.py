"""Bad, expired, tampered and replayed activation links: a 400 page, never a 500 and never an activation."""

import pytest
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.models import User
from accounts.tokens import activation_token

pytestmark = pytest.mark.django_db


@pytest.fixture
def newcomer(db):
    return User.objects.create_user("marco", email="marco@venice.test", password="x-long-password-1", is_active=False)


def uid(value) -> str:
    return urlsafe_base64_encode(force_bytes(value))


def test_the_good_link_activates_once(client, newcomer):
    link = f"/accounts/activate/{uid(newcomer.pk)}/{activation_token.make_token(newcomer)}/"
    assert client.get(link).status_code == 200
    assert client.get(link).status_code == 400


BAD_UIDS = ["", "%00", "!!!", "a" * 5000, "=", "OTk5OTk5OTk5OTk5OTk5OTk5OTk5", "LTE", "MS4w", "bm9uZQ", "4pyT"]


@pytest.mark.parametrize("bad_uid", BAD_UIDS)
def test_a_bad_uid_is_400(client, newcomer, bad_uid):
    token = activation_token.make_token(newcomer)
    response = client.get(f"/accounts/activate/{bad_uid}/{token}/")
    assert response.status_code in (400, 404)  # an empty segment matches no URL
    assert not User.objects.get(pk=newcomer.pk).is_active


def tampered(token: str) -> list[str]:
    timestamp, _, digest = token.partition("-")
    return [
        f"{timestamp}-{digest[::-1]}",
        f"{timestamp}-{digest[:-1]}",
        f"zzzzzz-{digest}",
        f"{timestamp}-",
        f"-{digest}",
        f"{timestamp}-{digest}%00",
        "%00",
        "a" * 5000,
        f"{'9' * 5000}-{digest}",  # past Python's limit of digits in int()
        f"{timestamp}-{digest}-extra",
    ]


@pytest.mark.parametrize("index", range(10))
def test_a_tampered_token_is_400(client, newcomer, index):
    token = tampered(activation_token.make_token(newcomer))[index]
    response = client.get(f"/accounts/activate/{uid(newcomer.pk)}/{token}/")
    assert response.status_code == 400
    assert not User.objects.get(pk=newcomer.pk).is_active


def test_an_expired_token_is_400(client, newcomer, settings):
    token = activation_token.make_token(newcomer)
    settings.PASSWORD_RESET_TIMEOUT = -1
    assert client.get(f"/accounts/activate/{uid(newcomer.pk)}/{token}/").status_code == 400
    assert not User.objects.get(pk=newcomer.pk).is_active


def test_another_users_token_is_400(client, newcomer):
    other = User.objects.create_user("nadia", email="nadia@venice.test", password="x-long-password-1", is_active=False)
    token = activation_token.make_token(other)
    assert client.get(f"/accounts/activate/{uid(newcomer.pk)}/{token}/").status_code == 400
    assert not User.objects.get(pk=newcomer.pk).is_active
