"""`make run`'s gunicorn, started with the same command line: clients that send half a request header
(slowloris) do not keep a normal visitor from being answered."""

import socket
import subprocess
import time
from contextlib import ExitStack, closing

import pytest

from tools import stack
from tools.harness.ports import quiet_port

pytestmark = pytest.mark.django_db(transaction=True)

SLOW_CLIENTS = 12  # four times the three workers of make run
ANSWER_WITHIN = 10  # seconds: far above a page's time here, far below gunicorn's 30 s worker timeout


def get(port: int, path: str, timeout: float) -> bytes:
    with closing(socket.create_connection(("127.0.0.1", port), timeout=timeout)) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
        return sock.recv(200)


@pytest.fixture
def make_run_server(site_env, tmp_path):
    port = quiet_port()
    log = (tmp_path / "gunicorn.log").open("w")
    server = subprocess.Popen(
        stack.gunicorn_command(f"127.0.0.1:{port}"), cwd=stack.RUN_DIR.parent, env=site_env, stdout=log, stderr=log
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                get(port, "/", timeout=5)
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, (tmp_path / "gunicorn.log").read_text()
                time.sleep(0.2)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_clients_sending_half_a_header_do_not_starve_a_normal_request(make_run_server):
    port = make_run_server
    with ExitStack() as stack_of_sockets:
        for _ in range(SLOW_CLIENTS):
            slow = stack_of_sockets.enter_context(closing(socket.create_connection(("127.0.0.1", port))))
            slow.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slow")  # and never the rest
        time.sleep(1)  # every slow client accepted and waiting on its header
        for path in ("/", "/accounts/register/", "/products/none/"):
            answer = get(port, path, timeout=ANSWER_WITHIN)
            assert answer.startswith((b"HTTP/1.1 200", b"HTTP/1.1 404")), answer
