"""Hostile bodies on the staff API (tests/staff_api/test_views.py covers its rules): a 4xx, never a 500."""

import json

import pytest

pytestmark = pytest.mark.django_db

BODIES = [
    ("application/json", ""),
    ("application/json", "{" * 5000),
    ("application/json", "[" * 100_000),  # deeper than Python's recursion limit
    ("application/json", '{"price": "1' + "0" * 5000 + '"}'),
    ("application/json", '{"price": 1' + "0" * 5000 + "}"),
    ("application/json", '{"price": 1e999999}'),
    ("application/json", '{"price": "\\u0000"}'),
    ("application/json", '{"name": "\\ud800"}'),  # a lone surrogate
    ("application/json", '{"\\u0000": "x"}'),
    ("application/json", json.dumps({"description": "d" * 3_000_000})),  # past DATA_UPLOAD_MAX_MEMORY_SIZE
    ("application/x-www-form-urlencoded", "price=%00"),
    ("application/x-www-form-urlencoded", "price=%ZZ"),
    ("application/x-www-form-urlencoded", "&".join(f"f{i}=1" for i in range(2000))),
    ("application/x-www-form-urlencoded", "name=" + "n" * 10_000),
    ("application/x-www-form-urlencoded", "category=%00"),
    ("multipart/form-data; boundary=xyz", "--xyz\r\nContent-Disposition: form-data\r\n\r\n1\r\n--xyz--"),
    ("multipart/form-data", "no boundary"),
    ("text/html", "<h1>"),
    ("", "price=1.00"),
]


@pytest.mark.parametrize(("content_type", "body"), BODIES)
@pytest.mark.parametrize("path", ["/staff/products/jade-teapot/", "/staff/prices/", "/staff/users/alice/"])
def test_a_hostile_body_is_a_client_error(client, rows, staff_api_on, path, content_type, body):
    response = client.generic("POST", path, body, content_type=content_type, headers=staff_api_on)
    assert 400 <= response.status_code < 500
