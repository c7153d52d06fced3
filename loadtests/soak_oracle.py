"""The soak's oracle: the writers' acknowledgements held in each reader's memory, so a check is a dict lookup.

The load test's oracle (oracle.py) lives in Redis and costs a reader two round
trips and a dozen commands per read; the soak's readers hold the same facts in
their own memory instead. Writers publish each acknowledgement, once its
response has arrived (so the write has committed), to every reader process
through a pipe of its own (`AckFeed`); a reader drains its pipe just before it
notes `t_send` and sends, so its `AckBook` holds exactly what was acknowledged
before the read started: the load test's `v_min`. The definition of a stale read
is the load test's (staleness.py): a page showing an object below the newest
version acknowledged before the read was sent. An acknowledgement still on its
way through the pipe is one the reader could not know of, as in the load test an
acknowledgement not yet in Redis; a read overlapping it never counts.
"""

from __future__ import annotations

import os
import struct
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from loadtests.staleness import Lag, find_lags, first_newer_ack

# One acknowledgement on the wire: which model, its pk, the version, t_ack (time.monotonic(), system-wide).
_ACK = struct.Struct("<BIId")
MODELS = ("catalog.product", "accounts.user")
HISTORY_LENGTH = 64  # acknowledgements kept per object, to date a stale read (its age)


def pack_ack(obj: str, version: int, t_ack: float) -> bytes:
    model, _, pk = obj.partition(":")
    return _ACK.pack(MODELS.index(model), int(pk), version, t_ack)


def unpack_acks(data: bytes) -> Iterator[tuple[str, int, float]]:
    for model, pk, version, t_ack in _ACK.iter_unpack(data):
        yield f"{MODELS[model]}:{pk}", version, t_ack


@dataclass(frozen=True)
class ReadCheck:
    checked: bool  # the page showed an object with an acknowledged write
    lags: tuple[Lag, ...] = ()
    age_ms: float = 0.0  # t_send - the first acknowledgement of a version newer than shown, oldest over the page
    windows: tuple[tuple[str, float], ...] = ()  # ("obj=version", t_send - its t_ack in ms) of each missed version

    @property
    def stale(self) -> bool:
        return bool(self.lags)


class AckBook:
    """What a reader knows was acknowledged: object -> newest version, and the last acknowledgements."""

    def __init__(self) -> None:
        self.newest: dict[str, int] = {}
        self.history: dict[str, list[tuple[int, float]]] = {}

    def add(self, obj: str, version: int, t_ack: float) -> None:
        if version > self.newest.get(obj, 0):
            self.newest[obj] = version
        history = self.history.setdefault(obj, [])
        history.append((version, t_ack))
        if len(history) > HISTORY_LENGTH:
            del history[0]

    def add_all(self, acks: Iterable[tuple[str, int, float]]) -> None:
        for obj, version, t_ack in acks:
            self.add(obj, version, t_ack)

    def check(self, shown: dict[str, int], t_send: float) -> ReadCheck:
        """Compare the versions a page shows with what this book held when the read was sent.

        The caller adds nothing between sending and checking (it drains its feed before sending
        only), so `newest` is the `v_min` of the read."""
        newest = self.newest
        lags = find_lags(shown, newest)
        checked = any(obj in newest for obj in shown)
        if not lags:
            return ReadCheck(checked)
        ages, windows = [], []
        for lag in lags:
            history = self.history[lag.obj]
            if (t_ack := first_newer_ack(history, lag, t_send)) is not None:
                ages.append((t_send - t_ack) * 1000)
            windows += [
                (f"{lag.obj}={version}", (t_send - t) * 1000)
                for version, t in history
                if lag.seen < version <= lag.v_min and t <= t_send
            ]
        return ReadCheck(checked, tuple(lags), max(ages, default=0.0), tuple(windows))


class AckFeed:
    """One pipe per reader process: writers publish to all, each reader drains its own before a read."""

    def __init__(self, readers: int) -> None:
        self.pipes = [os.pipe() for _ in range(readers)]
        for read_end, _write_end in self.pipes:
            os.set_blocking(read_end, False)
        self.book = AckBook()  # everything published: the stuck-page check after the run reads it
        self._lock = threading.Lock()

    def publish(self, obj: str, version: int, t_ack: float) -> None:
        """Called by a writer once the write's response arrived; each write to a pipe is atomic (< PIPE_BUF)."""
        message = pack_ack(obj, version, t_ack)
        with self._lock:
            self.book.add(obj, version, t_ack)
        for _read_end, write_end in self.pipes:
            os.write(write_end, message)

    def reader_end(self, index: int) -> int:
        return self.pipes[index][0]

    def close_writing(self) -> None:
        for _read_end, write_end in self.pipes:
            os.close(write_end)


def drain(read_end: int, pending: bytes = b"") -> tuple[list[tuple[str, int, float]], bytes]:
    """Every acknowledgement waiting in a reader's pipe (non-blocking), and a partial message's bytes, if any."""
    chunks = [pending]
    while True:
        try:
            data = os.read(read_end, 1 << 16)
        except BlockingIOError:
            break
        if not data:  # the writing end is closed
            break
        chunks.append(data)
    buffer = b"".join(chunks)
    whole = len(buffer) - len(buffer) % _ACK.size
    return list(unpack_acks(buffer[:whole])), buffer[whole:]
