from decimal import Decimal

import pytest

from cache_sync.signals import key_rebuilt, keys_invalidated
from catalog.models import Product
from tests.factories import make_category, make_product

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def received():
    calls = []

    def listener(signal, sender, **kwargs):
        calls.append((signal, kwargs))

    keys_invalidated.connect(listener, weak=False, dispatch_uid="test")
    key_rebuilt.connect(listener, weak=False, dispatch_uid="test")
    yield calls
    keys_invalidated.disconnect(dispatch_uid="test")
    key_rebuilt.disconnect(dispatch_uid="test")


def test_keys_invalidated_names_the_keys_once_per_commit(received):
    teapot = make_product(make_category("tea"), "jade-teapot")
    received.clear()
    teapot = Product.objects.get(pk=teapot.pk)
    teapot.price = Decimal("5.00")
    teapot.save()
    assert received == [
        (keys_invalidated, {"keys": ("product:jade-teapot", "category:tea", "home"), "rebuild": (), "using": "default"})
    ]


def test_a_failing_listener_does_not_block_invalidation(client):
    def broken(**kwargs):
        raise RuntimeError("listener bug")

    keys_invalidated.connect(broken, weak=False, dispatch_uid="broken")
    try:
        teapot = make_product(make_category("tea"), "jade-teapot")
        client.get("/products/jade-teapot/")
        teapot.price = Decimal("7.00")
        teapot.save()
        assert client.get("/products/jade-teapot/")["X-Cache"] == "miss"
    finally:
        keys_invalidated.disconnect(dispatch_uid="broken")


def test_a_rebuild_rule_refills_the_page_after_commit(client, received, django_user_model):
    user = django_user_model.objects.create_user("alice", bio="Weaver.")
    client.get("/users/alice/")
    user.bio = "Weaver of silk."
    user.save()
    assert (key_rebuilt, {"key": "profile:alice", "stored": True}) in received
    response = client.get("/users/alice/")
    assert response["X-Cache"] == "hit"
    assert "Weaver of silk." in response.content.decode()
