"""A local HTTP server that records the purges sent to it and answers as it is told (an edge's API)."""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tools.harness.ports import quiet_port


@dataclass
class Call:
    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes

    def json(self) -> dict:
        return json.loads(self.body)


@dataclass
class RecordingEdge:
    """`answers`: statuses (with headers) to give, in order, before answering 200 to everything."""

    port: int = field(default_factory=quiet_port)
    calls: list[Call] = field(default_factory=list)
    answers: deque[tuple[int, dict[str, str]]] = field(default_factory=deque)
    hold: threading.Event | None = None  # set: requests wait for it (an edge that hangs)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> RecordingEdge:
        edge = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                edge.calls.append(
                    Call(self.command, self.path, {name.lower(): value for name, value in self.headers.items()}, body)
                )
                if edge.hold is not None:
                    edge.hold.wait(30)
                status, headers = edge.answers.popleft() if edge.answers else (200, {})
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            do_POST = do_PURGE = do_GET = _answer

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def purged_keys(self) -> list[str]:
        """Every key purged, in order, whatever the vendor's format."""
        keys: list[str] = []
        for call in self.calls:
            if call.method == "PURGE":
                keys.extend(call.headers.get("xkey-purge", call.headers.get("xkey-softpurge", "")).split())
            else:
                data = call.json()
                keys.extend(data.get("surrogate_keys", data.get("tags", [])))
        return keys
