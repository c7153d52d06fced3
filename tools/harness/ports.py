"""Ports for the servers the harness starts: below the ephemeral range, never the same twice.

A port that `bind(0)` hands out lies in the ephemeral range, where any process's outgoing
connection may take it before the server binds it (a CI failure once). Ports below that range
are only taken by servers, which bind them.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

_handed_out: set[int] = set()


def ephemeral_start() -> int:
    """The first port of the kernel's ephemeral range (32768 where it cannot be read)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def quiet_port(low: int = 23000, *, also_free: tuple[int, ...] = ()) -> int:
    """A port free now, in [low, ephemeral start), not handed out before by this process.

    `also_free` lists offsets whose ports must be free too (a Redis cluster bus: +10000).
    """
    high = ephemeral_start() - 1 - max(also_free, default=0)
    if high <= low:
        raise RuntimeError(f"no quiet ports between {low} and the ephemeral range")
    while True:
        port = random.randint(low, high)
        if port in _handed_out:
            continue
        try:
            for candidate in (port, *(port + offset for offset in also_free)):
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", candidate))
        except OSError:
            continue
        _handed_out.add(port)
        return port
