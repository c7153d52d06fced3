"""The client address of the rate limits: X-Forwarded-For believed only from trusted proxies, read from the right."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory

from website.client_address import client_address, parse_trusted_proxies

PROXY = "127.0.0.1"
CLIENT = "203.0.113.5"


def address_of(settings, *, peer: str, forwarded: str | None = None, trusted: str = "") -> str:
    settings.TRUSTED_PROXIES = parse_trusted_proxies(trusted)
    headers = {} if forwarded is None else {"HTTP_X_FORWARDED_FOR": forwarded}
    return client_address(RequestFactory().get("/", REMOTE_ADDR=peer, **headers))


def test_with_no_trusted_proxy_the_forwarded_header_is_ignored(settings):
    assert address_of(settings, peer=CLIENT, forwarded="198.51.100.7") == CLIENT


def test_a_peer_that_is_not_a_trusted_proxy_is_the_client_whatever_it_forwards(settings):
    assert address_of(settings, peer=CLIENT, forwarded="198.51.100.7", trusted="127.0.0.1,10.0.0.0/8") == CLIENT


def test_behind_a_trusted_proxy_the_forwarded_client_is_used(settings):
    assert address_of(settings, peer=PROXY, forwarded=CLIENT, trusted=PROXY) == CLIENT


def test_the_right_most_entry_counts_not_what_the_client_prepended(settings):
    forged = f"1.2.3.4, 198.51.100.7, {CLIENT}"
    assert address_of(settings, peer=PROXY, forwarded=forged, trusted=PROXY) == CLIENT


def test_entries_of_trusted_proxies_are_skipped_from_the_right(settings):
    # client -> load balancer 10.0.0.2 -> nginx 127.0.0.1 -> Django; nginx appended the balancer.
    chain = f"1.2.3.4, {CLIENT}, 10.0.0.2"
    assert address_of(settings, peer=PROXY, forwarded=chain, trusted="127.0.0.1,10.0.0.0/8") == CLIENT


def test_an_untrusted_hop_in_the_chain_is_the_client_even_if_trusted_ones_stand_left_of_it(settings):
    chain = f"10.0.0.9, {CLIENT}"
    assert address_of(settings, peer=PROXY, forwarded=chain, trusted="127.0.0.1,10.0.0.0/8") == CLIENT


def test_a_trusted_proxy_without_the_header_is_counted_as_itself(settings):
    assert address_of(settings, peer=PROXY, trusted=PROXY) == PROXY
    assert address_of(settings, peer=PROXY, forwarded="", trusted=PROXY) == PROXY


def test_a_garbage_entry_stops_at_the_last_address_a_trusted_proxy_gave(settings):
    chain = "1.2.3.4, not-an-address, 10.0.0.2"  # 1.2.3.4 is whatever the client wrote
    assert address_of(settings, peer=PROXY, forwarded=chain, trusted="127.0.0.1,10.0.0.0/8") == "10.0.0.2"


def test_ipv4_mapped_peers_match_ipv4_proxies(settings):
    assert address_of(settings, peer="::ffff:127.0.0.1", forwarded=CLIENT, trusted=PROXY) == CLIENT


def test_ipv6_proxies_and_clients(settings):
    assert address_of(settings, peer="fd00::1", forwarded="2001:db8::7", trusted="fd00::/8") == "2001:db8::7"
    assert address_of(settings, peer="2001:db8::9", forwarded="2001:db8::7", trusted="fd00::/8") == "2001:db8::9"


def test_the_setting_accepts_addresses_and_networks_with_spaces_and_empty_items():
    assert parse_trusted_proxies(" 127.0.0.1, ,10.0.0.0/8,::1 ,") == ("127.0.0.1/32", "10.0.0.0/8", "::1/128")
    assert parse_trusted_proxies("") == ()


@pytest.mark.parametrize("value", ["nginx.internal", "10.0.0.1/8", "127.0.0.1;10.0.0.2", "300.1.1.1"])
def test_an_invalid_setting_is_an_error_that_names_the_variable(value):
    with pytest.raises(ImproperlyConfigured, match="DJANGO_TRUSTED_PROXIES"):
        parse_trusted_proxies(value)
