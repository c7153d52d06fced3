"""A bare HTTP/1.1 GET over a socket: the soak reader's client, a fraction of an HTTP library's cost per read.

gunicorn's sync workers close every connection after its response (they do no
keep-alive), so each read opens its own: the request says `Connection: close`
and the answer ends where the socket does. Only what the check needs is parsed:
the status, the headers, and that the body is as long as `Content-Length` says.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]  # names lower-cased
    complete: bool  # the body is as long as its Content-Length


class Client:
    def __init__(self, host: str, port: int, timeout: float = 30) -> None:
        self.address = (host, port)
        self.timeout = timeout
        self._host_header = f"Host: {host}:{port}\r\n".encode()

    def get(self, path: str) -> Answer:
        request = b"GET " + path.encode() + b" HTTP/1.1\r\n" + self._host_header + b"Connection: close\r\n\r\n"
        with socket.create_connection(self.address, timeout=self.timeout) as sock:
            sock.sendall(request)
            chunks = []
            while data := sock.recv(1 << 16):
                chunks.append(data)
        return parse_answer(b"".join(chunks))


def parse_answer(raw: bytes) -> Answer:
    head, separator, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if not separator or len(parts) < 2 or not parts[1].isdigit():
        return Answer(0, {}, False)
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = headers.get("content-length")
    complete = length is None or (length.isdigit() and int(length) == len(body))
    return Answer(int(parts[1]), headers, complete)


def split_host(url: str) -> tuple[str, int]:
    """'http://127.0.0.1:8000' -> ('127.0.0.1', 8000)."""
    netloc = url.split("://", 1)[-1].split("/", 1)[0]
    host, _, port = netloc.rpartition(":")
    return host, int(port)
