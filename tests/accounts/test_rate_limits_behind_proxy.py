"""The login rate limit per client behind the documented nginx: forwarded addresses only from trusted proxies.

The real login view, the limits counted in the real Redis; REMOTE_ADDR is the peer Django sees.
"""

from __future__ import annotations

import pytest

from website.client_address import parse_trusted_proxies

pytestmark = pytest.mark.django_db

NGINX = "127.0.0.1"
ALICE = "203.0.113.5"
BOB = "203.0.113.6"
LIMIT = 3


@pytest.fixture(autouse=True)
def small_login_limit(settings):
    settings.ACCOUNTS_RATE_LIMITS = {"login": (f"{LIMIT}/m", "100/m")}


@pytest.fixture
def trust(settings):
    def trusted(value: str) -> None:
        settings.TRUSTED_PROXIES = parse_trusted_proxies(value)

    return trusted


def login(client, attempt: int, *, peer: str, forwarded: str | None = None) -> int:
    """A wrong password for a username of its own (so only the per-IP count can refuse it)."""
    headers = {} if forwarded is None else {"HTTP_X_FORWARDED_FOR": forwarded}
    data = {"username": f"visitor{attempt}", "password": "wrong-Password-1"}
    return client.post("/accounts/login/", data, REMOTE_ADDR=peer, **headers).status_code


@pytest.mark.parametrize("trusted", ["", NGINX], ids=["no proxy trusted", "nginx trusted"])
def test_a_direct_client_forging_x_forwarded_for_gets_no_fresh_bucket(client, trust, trusted):
    trust(trusted)
    answers = [login(client, n, peer=ALICE, forwarded=f"198.51.100.{n}") for n in range(LIMIT + 1)]
    assert answers == [200] * LIMIT + [429]


def test_clients_behind_the_trusted_proxy_get_buckets_of_their_own(client, trust):
    trust(NGINX)
    assert [login(client, n, peer=NGINX, forwarded=ALICE) for n in range(LIMIT + 1)] == [200] * LIMIT + [429]
    assert login(client, 99, peer=NGINX, forwarded=BOB) == 200


def test_behind_an_untrusted_proxy_every_client_shares_the_proxys_bucket(client, trust):
    trust("")  # the default: what the issue saw behind nginx without the setting
    for n in range(LIMIT):
        assert login(client, n, peer=NGINX, forwarded=ALICE) == 200
    assert login(client, 99, peer=NGINX, forwarded=BOB) == 429


def test_a_forged_left_most_entry_behind_the_trusted_proxy_does_not_escape(client, trust):
    trust(NGINX)  # nginx with $proxy_add_x_forwarded_for: it appends the address it saw
    answers = [login(client, n, peer=NGINX, forwarded=f"198.51.100.{n}, {ALICE}") for n in range(LIMIT + 1)]
    assert answers == [200] * LIMIT + [429]
    assert login(client, 99, peer=NGINX, forwarded=f"{ALICE}, {BOB}") == 200  # Bob claiming Alice is still Bob
