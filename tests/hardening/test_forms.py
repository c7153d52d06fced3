"""Registration, login, profile edit and password reset with missing, huge and hostile values: never a 500.

Statuses only (the other account pages' look and wording may change): an invalid form is shown again (200)
and changes nothing."""

import pytest

from accounts.models import User
from tests.hardening.conftest import PASSWORD

pytestmark = pytest.mark.django_db

HUGE = "x" * 100_000
HOSTILE_TEXT = ["", " ", "\x00", "a\x00b", "\x07\x08\x1b[2J", "\u202e\u200b", "<script>alert(1)</script>", HUGE]


def registration(**overrides):
    good = {"username": "marco", "email": "marco@venice.test", "password1": PASSWORD, "password2": PASSWORD}
    return {key: value for key, value in {**good, **overrides}.items() if value is not None}


REGISTRATIONS = [
    *[registration(**{field: None}) for field in ("username", "email", "password1", "password2")],
    *[registration(username=value) for value in HOSTILE_TEXT],
    *[registration(email=value) for value in HOSTILE_TEXT],
    registration(email="marco@\x00venice.test"),
    registration(email="marco@" + "v" * 300 + ".test"),
    registration(password1="pw\x00" + PASSWORD, password2="pw\x00" + PASSWORD),
    registration(username="alice"),  # taken
    registration(username="ALICE"),  # taken, in another case
    registration(email="ALICE@example.test"),  # taken, in another case
    {},
]


@pytest.mark.parametrize("data", REGISTRATIONS)
def test_a_bad_registration_is_shown_again_and_creates_nobody(client, rows, data):
    assert client.post("/accounts/register/", data).status_code == 200
    assert User.objects.count() == 1


def test_a_huge_password_is_hashed_like_any_other(client, rows):
    assert client.post("/accounts/register/", registration(password1=HUGE, password2=HUGE)).status_code == 302


LOGINS = [
    {},
    {"username": "alice"},
    {"password": PASSWORD},
    *[{"username": value, "password": PASSWORD} for value in HOSTILE_TEXT],
    *[{"username": "alice", "password": value} for value in HOSTILE_TEXT if value],
]


@pytest.mark.parametrize("data", LOGINS)
def test_a_bad_login_never_fails_and_never_logs_in(client, rows, data):
    response = client.post("/accounts/login/", data)
    assert response.status_code < 500
    assert "_auth_user_id" not in client.session


PROFILE_EDITS = [
    {"display_name": "a" * 101, "bio": ""},
    {"display_name": "", "bio": "b" * 2001},
    {"display_name": "a\x00b", "bio": ""},
    {"display_name": "", "bio": "a\x00b"},
    {"display_name": HUGE, "bio": HUGE},
]


@pytest.mark.parametrize("data", PROFILE_EDITS)
def test_a_bad_profile_edit_is_shown_again_and_saves_nothing(client, rows, data):
    client.force_login(rows)
    assert client.post("/accounts/profile/", data).status_code == 200
    assert User.objects.get(pk=rows.pk).bio == ""


@pytest.mark.parametrize("data", [{"display_name": "Al\x07ice", "bio": ""}, {"display_name": "", "bio": "\x1b[31mred"}])
def test_control_characters_are_a_form_error_and_save_nothing(client, rows, data):
    client.force_login(rows)
    assert client.post("/accounts/profile/", data).status_code == 200
    assert User.objects.get(pk=rows.pk).display_name == ""


@pytest.mark.parametrize("data", [{"display_name": "Alice \u202e\u200b", "bio": "line\n\tindented"}, {}])
def test_format_characters_line_breaks_and_tabs_are_text_like_any_other(client, rows, data):
    client.force_login(rows)
    assert client.post("/accounts/profile/", data).status_code == 302


@pytest.mark.parametrize("email", [None, *HOSTILE_TEXT, "alice@example.test\x00", "nobody@example.test"])
def test_a_bad_password_reset_request_never_fails(client, rows, email, mailoutbox):
    data = {} if email is None else {"email": email}
    assert client.post("/accounts/password_reset/", data).status_code < 500
    assert mailoutbox == []


@pytest.mark.parametrize(
    "path",
    ["/accounts/reset/MQ/set-password/", "/accounts/reset/%00/%00/", "/accounts/reset/OTk5OTk5OTk5OTk5OTk5OTk5OTk5/x/"],
)
def test_a_bad_password_reset_link_never_fails(client, rows, path):
    assert client.get(path).status_code < 500
    assert client.post(path, {"new_password1": "x", "new_password2": "y"}).status_code < 500
