"""The cached read path: what is stored, for whom, and what is not."""

import pytest
from django.contrib import messages
from django.contrib.auth.models import AnonymousUser
from django.contrib.messages.storage.fallback import FallbackStorage
from django.http import HttpResponse
from django.test import RequestFactory

from cache_sync.pages.decorator import cached_page

pytestmark = pytest.mark.django_db(transaction=True)


@cached_page("demo:{name}", query_params=("page",))
def demo_view(request, name):
    shown = [str(m) for m in messages.get_messages(request)]
    return HttpResponse(f"{name} page={request.GET.get('page', '1')} messages={shown}")


def get(path="/", user=None, message=None):
    request = RequestFactory().get(path)
    request.user = user or AnonymousUser()
    request.session = {}
    request._messages = FallbackStorage(request)
    if message:
        messages.info(request, message)
    return demo_view(request, name="a")


def test_a_page_that_shows_a_one_time_message_is_not_stored():
    assert "Saved!" in get(message="Saved!").content.decode()
    response = get()
    assert response["X-Cache"] == "miss"
    assert "Saved!" not in response.content.decode()
    assert get()["X-Cache"] == "hit"


def test_signed_in_visitors_get_their_own_variant(django_user_model):
    alice = django_user_model.objects.create_user("alice")
    bob = django_user_model.objects.create_user("bob")
    assert [get(user=alice)["X-Cache"], get(user=bob)["X-Cache"], get()["X-Cache"]] == ["miss"] * 3
    assert [get(user=alice)["X-Cache"], get(user=bob)["X-Cache"], get()["X-Cache"]] == ["hit"] * 3


def test_only_named_query_parameters_make_variants():
    assert get("/?page=2")["X-Cache"] == "miss"
    assert get("/?page=2&ref=mail")["X-Cache"] == "hit"
    assert "page=2" in get("/?ref=x&page=2").content.decode()


@cached_page("demo:{name}")
def cookie_view(request, name):
    response = HttpResponse("with a cookie")
    response.set_cookie("seen", "1")
    return response


@cached_page("demo:{name}")
def redirect_view(request, name):
    return HttpResponse("moved", status=302, headers={"Location": "/elsewhere/"})


def anonymous(path="/"):
    request = RequestFactory().get(path)
    request.user = AnonymousUser()
    return request


def test_a_response_that_sets_a_cookie_is_not_stored():
    assert cookie_view(anonymous(), name="c")["X-Cache"] == "miss"
    assert cookie_view(anonymous(), name="c")["X-Cache"] == "miss"


def test_a_response_that_is_not_200_is_not_stored():
    assert redirect_view(anonymous(), name="r")["X-Cache"] == "miss"
    assert redirect_view(anonymous(), name="r")["X-Cache"] == "miss"
