"""The staff API: token first, Bearer only, POST only, bodies and values validated, JSON answers."""

import json
from decimal import Decimal

import pytest

from accounts.models import User
from catalog.models import Product
from staff_api import forms, views
from tests.factories import make_category, make_product

pytestmark = pytest.mark.django_db(transaction=True)

TOKEN = "staff-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(autouse=True)
def api_on(settings):
    settings.STAFF_API_TOKEN = TOKEN


@pytest.fixture
def teapot():
    return make_product(make_category("tea"), "jade-teapot")


@pytest.fixture
def alice():
    return User.objects.create_user("alice", password="x-long-password-1", display_name="Alice")


def post_json(client, path, payload, headers=AUTH):
    return client.post(path, json.dumps(payload), content_type="application/json", headers=headers)


# --- the token, checked before anything is looked up


@pytest.mark.parametrize(
    "path", ["/staff/products/jade-teapot/", "/staff/products/no-such-product/", "/staff/users/nobody/"]
)
@pytest.mark.parametrize(
    "authorization",
    [None, TOKEN, f"Token {TOKEN}", f"Basic {TOKEN}", "Bearer wrong", "Bearer ", f"Bearer {TOKEN}x", "Bearer é"],
)
def test_a_missing_bare_or_wrong_token_is_401_whether_the_row_exists_or_not(client, teapot, path, authorization):
    headers = {"Authorization": authorization} if authorization is not None else {}
    response = client.post(path, {"name": "Changed"}, headers=headers)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["error"]
    assert Product.objects.get(pk=teapot.pk).name == "Jade Teapot"


def test_the_token_is_checked_before_the_row_is_looked_up(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.post("/staff/users/alice/", {"bio": "x"}, headers={"Authorization": "Bearer wrong"})
    assert response.status_code == 401


def test_the_token_is_compared_in_constant_time(client, monkeypatch):
    compared = []
    monkeypatch.setattr(views.hmac, "compare_digest", lambda a, b: compared.append((a, b)) or a == b)
    client.post("/staff/prices/", {}, headers={"Authorization": "Bearer guess"})
    assert compared == [(b"guess", TOKEN.encode())]


def test_the_scheme_is_case_insensitive(client, teapot):
    response = client.post(
        "/staff/products/jade-teapot/price/", {"price": "3.00"}, headers={"Authorization": f"bearer {TOKEN}"}
    )
    assert response.status_code == 200


def test_with_no_token_configured_the_api_is_off(client, teapot, settings):
    settings.STAFF_API_TOKEN = ""
    assert client.post("/staff/products/jade-teapot/price/", {"price": "3.00"}, headers=AUTH).status_code == 404


# --- methods


@pytest.mark.parametrize("method", ["get", "head", "put", "patch", "delete", "options", "trace"])
@pytest.mark.parametrize("path", ["/staff/products/jade-teapot/", "/staff/prices/", "/staff/users/alice/"])
def test_a_method_other_than_post_is_405_with_allow(client, teapot, alice, method, path):
    response = getattr(client, method)(path, headers=AUTH)
    assert response.status_code == 405
    assert response["Allow"] == "POST"


# --- bodies


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        ("{not json", "application/json", 400),
        ("[1, 2]", "application/json", 400),
        ('"a string"', "application/json", 400),
        ('{"price": NaN}', "application/json", 400),
        ('{"price": Infinity}', "application/json", 400),
        ('{"price": null}', "application/json", 400),
        ('{"price": true}', "application/json", 400),
        ('{"price": {"amount": 3}}', "application/json", 400),
        (b'{"price": "\xff"}', "application/json", 400),
        ('{"price": "3.00"}', "application/json; charset=latin-1", 415),
        ('{"price": "3.00"}', "text/plain", 415),
        ("price=3.00", "text/plain", 415),
        ("<price>3</price>", "application/xml", 415),
        ("garbage", "multipart/form-data; boundary=", 400),
    ],
)
def test_a_malformed_or_unsupported_body_is_a_json_error(client, teapot, body, content_type, status):
    response = client.post("/staff/products/jade-teapot/price/", body, content_type=content_type, headers=AUTH)
    assert response.status_code == status
    assert response.json()["error"]
    assert Product.objects.get(pk=teapot.pk).price == Decimal("12.50")


def test_a_json_body_changes_the_product(client, teapot):
    response = post_json(client, "/staff/products/jade-teapot/", {"name": "Celadon Teapot", "price": 19.99})
    assert response.status_code == 200
    teapot.refresh_from_db()
    assert (teapot.name, teapot.price) == ("Celadon Teapot", Decimal("19.99"))
    assert response.json() == {"pk": teapot.pk, "version": teapot.version}


def test_a_json_body_changes_a_profile(client, alice):
    response = post_json(client, "/staff/users/alice/", {"bio": "Trader."})
    assert response.status_code == 200
    assert User.objects.get(pk=alice.pk).bio == "Trader."


def test_form_data_still_works(client, teapot):
    response = client.post("/staff/products/jade-teapot/", {"price": "7.25"}, headers=AUTH)
    assert response.status_code == 200
    assert Product.objects.get(pk=teapot.pk).price == Decimal("7.25")


@pytest.mark.parametrize(
    "payload",
    [{}, {"colour": "red"}, {"price": "3.00", "colour": "red"}, {"name": ["a", "b"]}],
)
def test_an_empty_change_or_unknown_field_is_400_and_changes_nothing(client, teapot, payload):
    response = post_json(client, "/staff/products/jade-teapot/", payload)
    assert response.status_code == 400
    assert Product.objects.get(pk=teapot.pk).price == Decimal("12.50")


def test_a_form_body_with_a_json_looking_key_is_not_answered_200(client, teapot):
    """The old API read a JSON body sent as form data as no field at all, and answered 200."""
    body = '{"price": "1.00"}'
    response = client.post(
        "/staff/products/jade-teapot/", body, content_type="application/x-www-form-urlencoded", headers=AUTH
    )
    assert response.status_code == 400


# --- values


@pytest.mark.parametrize(
    "price", ["-5.00", "-0.01", "1000000.01", "1e9", "1.001", "abc", "", " ", "NaN", "Infinity", "0x10", "1,5"]
)
@pytest.mark.parametrize("path", ["/staff/products/jade-teapot/", "/staff/products/jade-teapot/price/"])
def test_a_negative_absurd_or_malformed_price_is_400(client, teapot, path, price):
    response = post_json(client, path, {"price": price})
    assert response.status_code == 400
    assert "price" in response.json()["errors"]
    assert Product.objects.get(pk=teapot.pk).price == Decimal("12.50")


@pytest.mark.parametrize("price", ["0", "0.00", "0.1", "999999.99", "1000000.00"])
def test_a_price_in_range_is_accepted_exactly(client, teapot, price):
    response = post_json(client, "/staff/products/jade-teapot/price/", {"price": price})
    assert response.status_code == 200
    assert Product.objects.get(pk=teapot.pk).price == Decimal(price)


@pytest.mark.parametrize("field", ["name", "bio"])
def test_a_nul_character_in_a_value_is_400(client, teapot, alice, field):
    path = "/staff/products/jade-teapot/" if field == "name" else "/staff/users/alice/"
    assert post_json(client, path, {field: "bad\x00value"}).status_code == 400


def test_an_unknown_category_is_400(client, teapot):
    assert post_json(client, "/staff/products/jade-teapot/", {"category": "no-such"}).status_code == 400


def test_an_unknown_row_is_404_for_an_authorized_caller(client):
    assert post_json(client, "/staff/products/nothing/", {"price": "1.00"}).status_code == 404
    assert post_json(client, "/staff/products/nothing/price/", {"price": "1.00"}).status_code == 404
    assert post_json(client, "/staff/users/nobody/", {"bio": "x"}).status_code == 404


# --- bulk


@pytest.mark.parametrize("slugs", [["jade-teapot", "iron-kettle"], "jade-teapot,iron-kettle"])
def test_bulk_prices_take_a_list_or_a_comma_separated_string(client, teapot, slugs):
    make_product(teapot.category, "iron-kettle")
    response = post_json(client, "/staff/prices/", {"price": "4.00", "slugs": slugs})
    assert response.status_code == 200
    assert sorted(row["slug"] for row in response.json()["rows"]) == ["iron-kettle", "jade-teapot"]
    assert set(Product.objects.values_list("price", flat=True)) == {Decimal("4.00")}


@pytest.mark.parametrize(
    "slugs", ["", [], ",,", [1, 2], ["bad slug!"], ["a\x00b"], [f"p{i}" for i in range(forms.MAX_SLUGS + 1)]]
)
def test_bulk_prices_refuse_bad_slugs(client, teapot, slugs):
    response = post_json(client, "/staff/prices/", {"price": "4.00", "slugs": slugs})
    assert response.status_code == 400
    assert "slugs" in response.json()["errors"]
