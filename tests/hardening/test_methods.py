"""OPTIONS, TRACE, PUT, DELETE and PATCH on every page: the site's pages refuse them (405), none answers 500."""

import pytest

pytestmark = pytest.mark.django_db

METHODS = ["options", "trace", "put", "delete", "patch"]

# The site's pages: the methods they do not serve are 405 (require_safe, http_method_names).
REFUSING_PAGES = [
    "/",
    "/categories/tea/",
    "/products/jade-teapot/",
    "/users/alice/",
    "/accounts/register/",
    "/accounts/register/done/",
    "/accounts/activate/MQ/bad-token/",
]
# Django's auth and admin views: not written here; they must only never fail.
OTHER_PAGES = [
    "/accounts/login/",
    "/accounts/logout/",
    "/accounts/password_reset/",
    "/accounts/password_reset/done/",
    "/accounts/reset/MQ/set-password/",
    "/accounts/reset/done/",
    "/accounts/password_change/",
    "/admin/",
    "/admin/login/",
    "/static/css/site.css",
]
STAFF_API = [
    "/staff/products/jade-teapot/",
    "/staff/products/jade-teapot/price/",
    "/staff/prices/",
    "/staff/users/alice/",
]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("path", REFUSING_PAGES)
def test_a_page_refuses_a_method_it_does_not_serve(client, rows, path, method):
    assert getattr(client, method)(path).status_code == 405


@pytest.mark.parametrize("method", METHODS)
def test_the_profile_page_sends_anonymous_visitors_to_login_and_refuses_for_members(client, rows, method):
    assert getattr(client, method)("/accounts/profile/").status_code == 302
    client.force_login(rows)
    assert getattr(client, method)("/accounts/profile/").status_code == 405


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("path", OTHER_PAGES)
def test_another_page_never_fails_on_a_method(client, rows, path, method):
    assert getattr(client, method)(path).status_code < 500


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("path", STAFF_API)
def test_the_staff_api_refuses_a_method_other_than_post(client, rows, staff_api_on, path, method):
    assert getattr(client, method)(path, headers=staff_api_on).status_code == 405
