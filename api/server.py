"""How `healthcontent serve` runs the app: uvicorn (uvloop, httptools) with bounded requests.

uvicorn's httptools protocol keeps every byte of a request's head (its line and headers)
until the head ends (a 200 MB URL grew a worker by 200 MB), and waits for it as long as it
takes. Here:
- a request line over MAX_URL_BYTES gets 414; headers over MAX_HEADER_BYTES, or more than
  MAX_HEADERS of them, get 431; a head that grows past MAX_HEAD_BYTES without ending (one
  header that never ends) gets 431 too;
- a head must arrive within HEAD_TIMEOUT_S of its first byte, and an idle connection (new,
  or kept alive after an answer) must start and finish its next one within that time too,
  or it gets 408;
- bodies are bounded by the app (MAX_BODY_BYTES): it may answer (413, 401, 429...) before
  it has read them all, and then the rest is drained (read and dropped, so that a client
  still sending can read the answer) up to MAX_DRAIN_BYTES or DRAIN_TIMEOUT_S, after which
  the connection is closed.
After a refusal the connection is closed. Forwarded-for headers are the app's business
(FORWARDED_ALLOW_IPS), so uvicorn's own handling of them is off.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

MAX_URL_BYTES = 64 * 1024  # a GET query this long should be a POST (or a persisted query)
MAX_HEADER_BYTES = 64 * 1024
MAX_HEADERS = 100
# Counted a whole read at a time (uvloop reads up to 256,000 bytes), so above a legitimate
# head plus one read: a refusal always means a head that is really too long.
MAX_HEAD_BYTES = 512 * 1024
HEAD_TIMEOUT_S = 10.0
MAX_DRAIN_BYTES = 16 * 1024 * 1024
DRAIN_TIMEOUT_S = 10.0

_STATUS = {
    408: b"408 Request Timeout",
    414: b"414 URI Too Long",
    431: b"431 Request Header Fields Too Large",
}


class _Refused(Exception):
    """Raised from a parser callback to stop parsing a request we will not take."""


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, refusing oversized or slow request heads."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]  # as uvicorn's own: a stream protocol is given an asyncio.Transport
        super().connection_made(transport)
        self.timer: asyncio.TimerHandle | None = None
        self.in_head, self.message_done = False, True
        self.head_bytes = self.header_bytes = self.drained = 0
        self.refusal: tuple[int, str] | None = None
        self._time(HEAD_TIMEOUT_S, self._head_too_slow)

    def _time(self, seconds: float, callback: Callable[[], None]) -> None:
        if self.timer is not None:
            self.timer.cancel()
        self.timer = self.loop.call_later(seconds, callback)

    def _untime(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def _head_too_slow(self) -> None:
        if not self.transport.is_closing():
            self._refuse_now(408, f"a request's head must arrive within {HEAD_TIMEOUT_S:.0f} s")

    def _drain_too_slow(self) -> None:
        if not self.transport.is_closing():
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.in_head and not self.transport.is_closing():
            # httptools keeps a header that has not ended yet without telling anyone.
            self.head_bytes += len(data)
            if self.head_bytes > MAX_HEAD_BYTES:
                self._refuse_now(431, f"a request's head is limited to {MAX_HEAD_BYTES} bytes")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.in_head, self.message_done = True, False
        self.head_bytes = self.header_bytes = self.drained = 0
        self.refusal = None
        self._time(HEAD_TIMEOUT_S, self._head_too_slow)

    def on_headers_complete(self) -> None:
        self.in_head = False
        self._untime()
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if self.cycle.response_complete:  # answered before the body was all read
            if self.drained == 0:
                self._time(DRAIN_TIMEOUT_S, self._drain_too_slow)
            self.drained += len(body)
            if self.drained > MAX_DRAIN_BYTES:
                self.transport.close()
            return
        super().on_body(body)

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self.message_done = True
        self._when_idle()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._when_idle()

    def _when_idle(self) -> None:
        """Answered, the request read to its end, nothing queued: the next head is due."""
        answered = self.cycle is None or self.cycle.response_complete
        idle = answered and self.message_done and not self.pipeline
        if idle and not self.transport.is_closing():
            self._time(HEAD_TIMEOUT_S, self._head_too_slow)

    def connection_lost(self, exc: Exception | None) -> None:
        self._untime()
        super().connection_lost(exc)

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        if len(self.url) > MAX_URL_BYTES:
            self._refuse(414, f"the URL is over {MAX_URL_BYTES} bytes: send long queries by POST")

    def on_header(self, name: bytes, value: bytes) -> None:
        self.header_bytes += len(name) + len(value)
        if self.header_bytes > MAX_HEADER_BYTES or len(self.headers) >= MAX_HEADERS:
            self._refuse(
                431, f"headers are limited to {MAX_HEADERS} and {MAX_HEADER_BYTES} bytes in all"
            )
        super().on_header(name, value)

    def _refuse(self, status: int, message: str) -> None:
        """From a parser callback: httptools stops, uvicorn calls send_400_response."""
        self.refusal = (status, message)
        raise _Refused(message)

    def _refuse_now(self, status: int, message: str) -> None:
        self.refusal = (status, message)
        self.send_400_response(message)

    def send_400_response(self, msg: str) -> None:
        if self.refusal is None:
            super().send_400_response(msg)
            return
        self.in_head = False
        self._untime()
        status, message = self.refusal
        body = message.encode()
        self.transport.write(
            b"HTTP/1.1 " + _STATUS[status] + b"\r\n"
            b"content-type: text/plain; charset=utf-8\r\n"
            b"content-length: " + str(len(body)).encode() + b"\r\n"
            b"connection: close\r\n\r\n" + body
        )
        self.transport.close()


def serve(host: str, port: int, workers: int, *, access_log: bool = True) -> None:
    uvicorn.run(
        "api.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        loop="uvloop",
        http=BoundedHttpToolsProtocol,
        proxy_headers=False,
        log_level="info",
        access_log=access_log,
    )
