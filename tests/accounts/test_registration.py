"""Registration: a validated form creates one inactive account and announces it once."""

from __future__ import annotations

import pytest
from django.core import mail

from accounts.models import User
from accounts.signals import user_registered
from accounts.views import RegisterView

pytestmark = pytest.mark.django_db


def test_register_page_shows_the_form_with_a_csrf_token(client):
    response = client.get("/accounts/register/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "csrfmiddlewaretoken" in html
    for name in ("username", "email", "password1", "password2"):
        assert f'name="{name}"' in html


def test_registration_creates_an_inactive_user_and_redirects(register, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = register()
    assert response.status_code == 302
    assert response["Location"] == "/accounts/register/done/"
    user = User.objects.get(username="marco")
    assert (user.email, user.is_active) == ("marco@venice.test", False)
    assert user.check_password("silk-road-Caravan-42")


def test_registration_sends_user_registered_once_with_user_and_request(register, django_capture_on_commit_callbacks):
    calls = []

    def listen(sender, **kwargs):
        calls.append((sender, kwargs))

    user_registered.connect(listen, dispatch_uid="test-listen")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            register()
    finally:
        user_registered.disconnect(dispatch_uid="test-listen")
    assert len(calls) == 1
    sender, kwargs = calls[0]
    assert sender is RegisterView
    assert kwargs["user"] == User.objects.get(username="marco")
    assert kwargs["request"].path == "/accounts/register/"


def test_the_register_page_is_not_cached(client):
    assert "X-Cache" not in client.get("/accounts/register/")


def test_registration_done_page_asks_to_check_the_mail(client):
    response = client.get("/accounts/register/done/")
    assert response.status_code == 200
    assert "Check your mail" in response.content.decode()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"username": "pOLO"}, "username"),
        ({"email": "polo@VENICE.TEST"}, "email"),
        ({"password1": "password", "password2": "password"}, "password2"),
        ({"password1": "12345678901", "password2": "12345678901"}, "password2"),
        ({"password1": "short", "password2": "short"}, "password2"),
        ({"password1": "marco-polo-1", "password2": "marco-polo-1", "username": "marco-polo-1"}, "password2"),
        ({"password2": "something-else-entirely-9"}, "password2"),
        ({"username": "m" * 151}, "username"),
        ({"email": f"{'e' * 250}@venice.test"}, "email"),
        ({"username": "marco polo!"}, "username"),
        ({"username": "a/b"}, "username"),
        ({"username": ""}, "username"),
        ({"email": ""}, "email"),
        ({"email": "not-an-address"}, "email"),
    ],
    ids=[
        "username-taken-other-case", "email-taken-other-case", "common-password", "numeric-password",
        "short-password", "password-like-username", "passwords-differ", "username-too-long", "email-too-long",
        "username-with-spaces-and-bang", "username-with-slash", "username-missing", "email-missing", "email-invalid",
    ],
)  # fmt: skip
def test_bad_input_is_a_form_error_and_creates_no_user(register, make_user, overrides, field):
    make_user("Polo", email="Polo@Venice.test")
    before = User.objects.count()
    response = register(**overrides)
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert User.objects.count() == before
    assert mail.outbox == []


def test_a_username_taken_between_check_and_save_is_a_form_error(register, make_user, monkeypatch):
    """The database constraint settles a race that the form's check cannot see."""
    from accounts.forms import RegistrationForm

    original_save = RegistrationForm.save

    def save_after_a_rival(form, commit=True):
        make_user("Marco", email="rival@venice.test")  # as if another request had just committed it
        return original_save(form, commit)

    monkeypatch.setattr(RegistrationForm, "save", save_after_a_rival)
    response = register()
    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert list(User.objects.values_list("username", flat=True)) == []
    assert mail.outbox == []


def test_an_email_taken_in_another_case_is_refused_by_the_database(make_user):
    from django.db import IntegrityError, transaction

    make_user("first", email="same@venice.test")
    with pytest.raises(IntegrityError), transaction.atomic():
        make_user("second", email="SAME@venice.test")


def test_many_users_without_email_are_allowed(django_user_model):
    django_user_model.objects.create_user("first")
    django_user_model.objects.create_user("second")
    assert django_user_model.objects.filter(email="").count() == 2
