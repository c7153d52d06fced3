"""Malformed and hostile URLs, through the WSGI application as gunicorn calls it: never a 500."""

import pytest

pytestmark = pytest.mark.django_db

LONG = "a" * 5000

NOT_FOUND = [
    # NUL and other control characters (PostgreSQL refuses NUL in a query: they must never reach one)
    "/products/%00/",
    "/products/jade-teapot%00/",
    "/categories/%00/",
    "/categories/tea%00/",
    "/users/%00/",
    "/users/al%00ice/",
    "/users/alice%00/",
    "/users/%0A/",
    "/users/%0D%0A/",
    "/users/%7F/",
    "/users/%1B%5B31m/",
    "/staff/users/%00/",
    "/staff/products/%00/price/",
    "/%00",
    "/products/%00",
    # overlong
    f"/products/{LONG}/",
    f"/categories/{LONG}/",
    f"/users/{LONG}/",
    f"/{LONG}/",
    # bad percent-encoding
    "/%ZZ/",
    "/products/%ZZ/",
    "/products/%/",
    "/products/%C3%28/",
    "/users/%C3%28/",
    "/users/%FF%FE/",
    "/users/%ED%A0%80/",  # an encoded surrogate
    "/categories/%E2%82/",
    # path traversal
    "/../../etc/passwd",
    "/%2e%2e/%2e%2e/etc/passwd",
    "/static/../website/settings.py",
    "/static/..%2f..%2fwebsite%2fsettings.py",
    "/static/%2e%2e/%2e%2e/manage.py",
    "/products/..%2f..%2f/",
    "/users/..%2fadmin/",
    "/static/css/../../../../etc/passwd",
    # unicode
    "/products/%C3%A7ay/",
    "/products/\u00e7ay/",
    "/products/jade-teapot/extra/",
    "/nothing-here/",
]


@pytest.mark.parametrize("path", NOT_FOUND)
@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_a_hostile_url_is_404(wsgi, rows, method, path):
    status, _, _ = wsgi(method, path)
    assert status == 404


# Characters beyond Latin-1, as browsers send them (UTF-8, percent-encoded).
BEYOND_LATIN1 = [
    "/users/%D0%B0lice/",  # Cyrillic small a
    "/users/b%CE%BFb/",  # Greek small omicron
    "/users/%F0%9F%90%AB/",  # a camel
    "/users/%E2%80%AEecila/",  # right-to-left override
    "/categories/%EF%BD%94%EF%BD%85%EF%BD%81/",  # fullwidth "tea"
    "/products/%E2%80%8Bjade-teapot/",  # zero-width space
]


@pytest.mark.parametrize("path", BEYOND_LATIN1)
def test_a_url_beyond_latin1_is_404_in_django(client, rows, path):
    assert client.get(path).status_code == 404


@pytest.mark.parametrize("path", BEYOND_LATIN1)
def test_a_url_beyond_latin1_is_404_through_the_front_door(wsgi, rows, path):
    assert wsgi("GET", path)[0] == 404


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("?page=%00", 302),
        ("?page=-1", 302),
        ("?page=1e3", 302),
        ("?page=%C2%B2", 302),  # superscript two: str.isdigit() says yes, int() says no
        ("?page=%D9%A1", 302),  # Arabic-Indic one
        ("?page=" + "9" * 5000, 404),  # past Python's limit of digits in int()
        ("?page=99999999999999999999", 404),
        ("?page=%ZZ", 302),
        ("?page=1&page=2", 404),
        ("?%00=%00", 200),
        ("?" + "a=1&" * 2000, 400),  # more fields than DATA_UPLOAD_MAX_NUMBER_FIELDS
        ("?" + "x" * 20000, 200),
        ("?page[]=2", 200),
    ],
)
def test_a_hostile_query_string_on_a_category_page_is_never_a_500(wsgi, rows, query, status):
    assert wsgi("GET", f"/categories/tea/{query}")[0] == status
