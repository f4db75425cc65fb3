"""The HTTP server `healthcontent serve` runs (uvicorn with api.server's protocol), on a real
socket: request heads are bounded in size and in time, and keep-alive still works."""

from __future__ import annotations

import contextlib
import select
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn

from api import server


async def _app(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]}
    )
    await send({"type": "http.response.body", "body": b"ok"})


@pytest.fixture
def port(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    monkeypatch.setattr(server, "HEAD_TIMEOUT_S", 0.5)
    config = uvicorn.Config(
        _app,
        host="127.0.0.1",
        port=0,
        loop="uvloop",
        http=server.BoundedHttpToolsProtocol,
        log_level="warning",
        lifespan="off",
    )
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not running.started:
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.02)
        yield int(running.servers[0].sockets[0].getsockname()[1])
    finally:
        running.should_exit = True
        thread.join()


def _exchange(port: int, request: bytes, wait: float = 0.0) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
        with contextlib.suppress(OSError):  # refused part-way: the answer is already there
            client.sendall(request)
        time.sleep(wait)
        answer = b""
        with contextlib.suppress(OSError):
            while chunk := client.recv(65536):
                answer += chunk
        return answer


def test_a_long_url_gets_414(port: int) -> None:
    answer = _exchange(port, b"GET /?q=" + b"x" * 70_000 + b" HTTP/1.1\r\nhost: t\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 414")


def test_too_many_headers_get_431(port: int) -> None:
    headers = b"".join(b"x-h%d: 1\r\n" % i for i in range(101))
    assert _exchange(port, b"GET / HTTP/1.1\r\n" + headers + b"\r\n").startswith(b"HTTP/1.1 431")


def test_a_header_that_never_ends_gets_431(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
        client.sendall(b"GET / HTTP/1.1\r\nhost: t\r\nx-big: ")
        sent = 0
        with contextlib.suppress(OSError):  # the server hangs up once it has answered
            while sent < 20_000_000:
                client.sendall(b"a" * 65536)
                sent += 65536
        assert sent < 20_000_000
        assert client.recv(65536).startswith(b"HTTP/1.1 431")


def test_a_head_that_takes_too_long_gets_408(port: int) -> None:
    started = time.monotonic()
    assert _exchange(port, b"GET / HTTP/1.1\r\nhost: t\r\n").startswith(b"HTTP/1.1 408")
    assert 0.4 < time.monotonic() - started < 3


def test_keep_alive_requests_are_each_answered(port: int) -> None:
    request = b"GET / HTTP/1.1\r\nhost: t\r\n\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
        client.sendall(request)
        assert client.recv(4096).startswith(b"HTTP/1.1 200")
        time.sleep(0.3)  # within the head timeout of the next request: still open
        client.sendall(request)
        assert client.recv(4096).startswith(b"HTTP/1.1 200")


def _post(size: int) -> bytes:
    return b"POST / HTTP/1.1\r\nhost: t\r\ncontent-length: %d\r\n\r\n" % size + b"x" * size


def _answers(client: socket.socket, count: int) -> list[bytes]:
    """Read until `count` answers (each `ok`) have come, or the server hangs up."""
    data = b""
    with contextlib.suppress(OSError):
        while data.count(b"HTTP/1.1 ") < count or not data.endswith(b"ok"):
            chunk = client.recv(65536)
            if not chunk:
                break
            data += chunk
    return [b"HTTP/1.1 " + part for part in data.split(b"HTTP/1.1 ")[1:]]


def test_a_body_answered_before_it_was_read_is_drained_and_the_connection_kept(
    port: int,
) -> None:
    """The app answers without reading an 8 MB body (as it does with 413, 401 or 429): the
    client, still sending, gets the answer, and the connection serves the next request."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
        sender = threading.Thread(target=client.sendall, args=(_post(8_000_000),))
        sender.start()
        sender.join()
        client.sendall(b"GET / HTTP/1.1\r\nhost: t\r\n\r\n")
        answers = _answers(client, 2)
    assert [a.split(b"\r\n")[0] for a in answers] == [b"HTTP/1.1 200 OK"] * 2


def test_pipelined_requests_with_bodies_are_each_answered(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
        client.sendall(b"GET / HTTP/1.1\r\nhost: t\r\n\r\n" + _post(300_000) + _post(1_500_000))
        answers = _answers(client, 3)
    assert [a.split(b"\r\n")[0] for a in answers] == [b"HTTP/1.1 200 OK"] * 3


def test_a_trickling_drain_is_cut_off(port: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(server, "DRAIN_TIMEOUT_S", 0.5)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
        client.sendall(b"POST / HTTP/1.1\r\nhost: t\r\ncontent-length: 1000000\r\n\r\nx")
        assert client.recv(4096).startswith(b"HTTP/1.1 200")
        started, closed = time.monotonic(), False
        while not closed and time.monotonic() - started < 5:
            try:
                client.sendall(b"x")
                readable = select.select([client], [], [], 0.1)[0]
                closed = bool(readable) and client.recv(1) == b""
            except OSError:
                closed = True  # reset: the server hung up
        assert closed and time.monotonic() - started < 3
