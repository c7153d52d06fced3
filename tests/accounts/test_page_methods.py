"""The account pages answer only the methods they serve (PUT once ran the registration form)."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("/accounts/register/", "GET, HEAD, POST"),
        ("/accounts/register/done/", "GET, HEAD"),
        ("/accounts/activate/MQ/bad-token/", "GET, HEAD"),
    ],
)
@pytest.mark.parametrize("method", ["options", "trace", "put", "patch", "delete"])
def test_an_unserved_method_is_405_with_allow(client, url, allowed, method):
    response = getattr(client, method)(url)
    assert response.status_code == 405
    assert response["Allow"] == allowed


@pytest.mark.parametrize("method", ["options", "trace", "put", "patch", "delete"])
def test_the_profile_form_answers_405_to_unserved_methods(client, make_user, method):
    client.force_login(make_user())
    response = getattr(client, method)("/accounts/profile/")
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD, POST"


def test_put_no_longer_submits_the_registration_form(client, registration_data):
    from django.test.client import encode_multipart

    response = client.put(
        "/accounts/register/", encode_multipart("BoUnDaRy", registration_data),
        content_type="multipart/form-data; boundary=BoUnDaRy",
    )  # fmt: skip
    assert response.status_code == 405
