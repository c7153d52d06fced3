"""The client's address for the rate limits: `X-Forwarded-For` is believed only from trusted proxies.

`settings.TRUSTED_PROXIES` (from `DJANGO_TRUSTED_PROXIES`) lists the proxies' addresses or
networks; empty, no forwarded header is believed. A request whose peer (`REMOTE_ADDR`) is not
one of them is counted by its peer, whatever `X-Forwarded-For` it sends. From a trusted peer,
the header is read from the right: each proxy appends the address it received the request
from, so the right-most entry that is not itself a trusted proxy is the first address that no
trusted proxy vouches for: the client. Everything left of it is whatever the client sent.

django-ipware (python-ipware) was not used: it matches its proxy list against the header's
entries by string prefix, never against `REMOTE_ADDR`, so a direct client that sends the header
is believed.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

if TYPE_CHECKING:  # the settings import this module: nothing here may need them loaded
    from django.http import HttpRequest

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

SETTING_VARIABLE = "DJANGO_TRUSTED_PROXIES"


def parse_trusted_proxies(value: str) -> tuple[str, ...]:
    """The networks of a comma-separated list of addresses and CIDR networks, normalised.

    Raises ImproperlyConfigured naming DJANGO_TRUSTED_PROXIES for an entry that is neither (a
    host name, a network with host bits set such as `10.0.0.1/8`), so a typo stops the site at
    start instead of silently trusting nobody, or the wrong network.
    """
    networks = []
    for entry in (part.strip() for part in value.split(",")):
        if not entry:
            continue
        try:
            networks.append(str(ipaddress.ip_network(entry)))
        except ValueError as error:
            raise ImproperlyConfigured(
                f"{SETTING_VARIABLE}: {entry!r} is not an IP address or a CIDR network ({error}). "
                "Give the proxies' addresses or networks, comma-separated, e.g. 127.0.0.1,10.0.0.0/8."
            ) from None
    return tuple(networks)


@functools.lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(entry) for entry in entries)


def _parse_address(text: str) -> Address | None:
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    # A server listening on [::] sees IPv4 peers as ::ffff:a.b.c.d.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _is_trusted(address: Address, networks: Iterable[Network]) -> bool:
    return any(address in network for network in networks)  # False across IPv4 and IPv6


def client_address(request: HttpRequest) -> str:
    """The address the rate limits count this request against (`RATELIMIT_IP_META_KEY`)."""
    peer_text = request.META.get("REMOTE_ADDR", "")
    networks = _networks(tuple(getattr(settings, "TRUSTED_PROXIES", ())))
    peer = _parse_address(peer_text)
    if peer is None or not _is_trusted(peer, networks):
        return str(peer) if peer is not None else peer_text
    hops = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
    return str(first_untrusted_hop(peer, hops, networks))


def first_untrusted_hop(peer: Address, hops: Sequence[str], networks: Iterable[Network]) -> Address:
    """Walking from the peer leftwards, the first address no trusted proxy is: the client.

    An entry that is not an address stops the walk at the last address a trusted proxy gave
    (only a client writes such an entry; a proxy always appends a real one).
    """
    networks = tuple(networks)
    nearest = peer
    for hop in reversed(hops):
        address = _parse_address(hop)
        if address is None:
            return nearest
        if not _is_trusted(address, networks):
            return address
        nearest = address
    return nearest
