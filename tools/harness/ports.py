"""Ports for the servers the harness starts: outside the ephemeral range, never the same twice.

A port that `bind(0)` hands out lies in the ephemeral range, where any process's outgoing
connection may take it before the server binds it (a CI failure once). `port-for` picks from the
ports that are neither ephemeral, nor system, nor registered with IANA, which only servers bind.
"""

from __future__ import annotations

import functools

import port_for

_handed_out: set[int] = set()


@functools.cache
def _good_ports() -> frozenset[int]:
    return frozenset(port_for.available_good_ports())


def quiet_port(*, also_free: tuple[int, ...] = ()) -> int:
    """A port free now, outside the ephemeral range, not handed out before by this process.

    `also_free` lists offsets whose ports must be good and free too (a Redis cluster bus: +10000).
    Also the address of "a server that is not there": nothing binds a quiet port by chance.
    """
    good = _good_ports()
    candidates = {port for port in good if all(port + offset in good for offset in also_free)} - _handed_out
    for _ in range(100):
        try:
            port = port_for.select_random(set(candidates))
        except port_for.PortForException:
            break  # every candidate is taken
        if not any(port_for.port_is_used(port + offset) for offset in also_free):
            _handed_out.add(port)  # free until its server binds it: never twice
            return port
        candidates.discard(port)
    raise RuntimeError("no quiet port free outside the ephemeral range")
