"""Usernames cannot pass for another; control characters in any accounts form are a form error."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from accounts.models import User
from tests.accounts.conftest import PASSWORD

pytestmark = pytest.mark.django_db

CYRILLIC_A, GREEK_OMICRON = "\u0430", "\u03bf"


@pytest.mark.parametrize(
    ("username", "code_text"),
    [
        (f"{CYRILLIC_A}lice", "one script"),  # alice with a Cyrillic a
        (f"b{GREEK_OMICRON}b", "one script"),  # bob with a Greek omicron
        ("\u0441\u043e\u0441\u043e", "mistaken for a name in Latin letters"),  # "coco", all Cyrillic
    ],
)
def test_confusable_usernames_are_a_form_error(register, username, code_text):
    response = register(username=username)
    assert response.status_code == 200
    assert code_text in response.content.decode()
    assert not User.objects.exists()


@pytest.mark.parametrize("username", ["Zo\u00eb", "\u0418\u0432\u0430\u043d", "marco_polo.1271", "\u5f20\u4f1f"])
def test_names_in_one_script_without_a_latin_double_are_accepted(register, username):
    assert register(username=username).status_code == 302
    assert User.objects.filter(username=username).exists()


def test_full_width_letters_are_normalised_before_the_checks(register, make_user):
    make_user("marco", email="other@venice.test")
    response = register(username="\uff4d\uff41\uff52\uff43\uff4f")  # "marco" in full-width letters (NFKC: marco)
    assert response.status_code == 200 and "already exists" in response.content.decode()


BAD_TEXT = ["with\x00nul", "with\x01soh", "with\x1bescape", "with\x7fdel"]


@pytest.mark.parametrize("bad", BAD_TEXT)
@pytest.mark.parametrize("field", ["username", "email", "password1", "password2"])
def test_control_characters_in_the_registration_form_are_a_form_error(register, field, bad):
    response = register(**{field: bad if field != "email" else f"{bad}@venice.test"})
    assert response.status_code == 200 and "errorlist" in response.content.decode()
    assert not User.objects.exists()


@pytest.mark.parametrize("bad", BAD_TEXT)
@pytest.mark.parametrize("field", ["username", "password"])
def test_control_characters_in_the_login_form_are_a_form_error(client, make_user, field, bad):
    make_user("alice")
    data = {"username": "alice", "password": PASSWORD, field: bad}
    response = client.post("/accounts/login/", data)
    assert response.status_code == 200 and "errorlist" in response.content.decode()


@pytest.mark.parametrize("bad", BAD_TEXT)
@pytest.mark.parametrize("path", ["/accounts/resend-activation/", "/accounts/password_reset/"])
def test_control_characters_in_the_email_forms_are_a_form_error(client, path, bad):
    response = client.post(path, {"email": f"{bad}@example.test"})
    assert response.status_code == 200 and "errorlist" in response.content.decode()


@pytest.mark.parametrize("bad", BAD_TEXT)
@pytest.mark.parametrize("field", ["display_name", "bio"])
def test_control_characters_in_the_profile_form_are_a_form_error(client, make_user, field, bad):
    client.force_login(make_user("alice"))
    response = client.post("/accounts/profile/", {"display_name": "Alice", "bio": "Weaver.", field: bad})
    assert response.status_code == 200 and "control characters" in response.content.decode()


def test_a_bio_keeps_its_line_breaks_and_tabs(client, make_user):
    client.force_login(make_user("alice"))
    response = client.post("/accounts/profile/", {"display_name": "Alice", "bio": "Weaver.\r\n\tOf silk."})
    assert response.status_code == 302
    assert User.objects.get(username="alice").bio == "Weaver.\r\n\tOf silk."


@pytest.mark.parametrize("username", ["\u0430lice", "b\u03bfb", "carol\x01"])
def test_the_user_model_itself_refuses_a_look_alike_or_control_characters(username):
    """What the admin and any ModelForm validate: not only the registration form."""
    with pytest.raises(ValidationError) as refused:
        User(username=username, email="x@example.org").full_clean(exclude=["password"])
    assert "username" in refused.value.message_dict
