"""How `healthcontent serve` runs the app: uvicorn (uvloop, httptools) with bounded requests.

uvicorn's httptools protocol keeps every byte of a request line and of its headers until they
end (a 200 MB URL grew a worker by 200 MB), and waits for them as long as they take. Here a
request line over MAX_URL_BYTES gets 414; headers over MAX_HEADER_BYTES, more than
MAX_HEADERS of them, or one header that never ends get 431; a request whose head has not all
arrived HEAD_TIMEOUT_S after the connection opened (or the previous answer went) gets 408;
and the connection is closed. Bodies are bounded by the app itself (MAX_BODY_BYTES): it
answers 413 without reading on, and the rest of the body is drained (read and dropped, so
that the client, still sending, can read the answer) up to MAX_DRAIN_BYTES, then the
connection is closed. Forwarded-for headers are the app's business too
(FORWARDED_ALLOW_IPS), so uvicorn's own handling of them is off.
"""

from __future__ import annotations

import asyncio

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

MAX_URL_BYTES = 64 * 1024  # a GET query this long should be a POST (or a persisted query)
MAX_HEADER_BYTES = 64 * 1024
MAX_HEADERS = 100
MAX_HEAD_BYTES = MAX_URL_BYTES + MAX_HEADER_BYTES + 16 * 1024  # and the start of a body
HEAD_TIMEOUT_S = 10.0
MAX_DRAIN_BYTES = 16 * 1024 * 1024

_STATUS = {
    408: b"408 Request Timeout",
    414: b"414 URI Too Long",
    431: b"431 Request Header Fields Too Large",
}


class _Refused(Exception):
    """Raised from a parser callback to stop parsing a request we will not take."""


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, refusing oversized or slow request heads."""

    def connection_made(self, transport: asyncio.Transport) -> None:
        super().connection_made(transport)
        self.head_timer: asyncio.TimerHandle | None = None
        self._await_head()

    def _await_head(self) -> None:
        """The next request's head is due: count its bytes and time it."""
        self.in_head, self.head_bytes = True, 0
        if self.head_timer is not None:
            self.head_timer.cancel()
        self.head_timer = self.loop.call_later(HEAD_TIMEOUT_S, self._head_too_slow)

    def _head_too_slow(self) -> None:
        if self.in_head and not self.transport.is_closing():
            self.refusal = (408, f"the request's head took over {HEAD_TIMEOUT_S:.0f} s")
            self.send_400_response("")

    def data_received(self, data: bytes) -> None:
        if self.in_head:
            # httptools keeps a header that has not ended yet without telling anyone.
            self.head_bytes += len(data)
            if self.head_bytes > MAX_HEAD_BYTES:
                self.refusal = (431, f"a request's head is limited to {MAX_HEAD_BYTES} bytes")
                self.send_400_response("")
                return
        super().data_received(data)

    def on_headers_complete(self) -> None:
        self.in_head = False
        if self.head_timer is not None:
            self.head_timer.cancel()
            self.head_timer = None
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._await_head()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.head_timer is not None:
            self.head_timer.cancel()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.header_bytes = self.drained = 0
        self.refusal: tuple[int, str] | None = None

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

    def on_body(self, body: bytes) -> None:
        if self.cycle.response_complete:  # answered before the body was read (413)
            self.drained += len(body)
            if self.drained > MAX_DRAIN_BYTES:
                self.transport.close()
            return
        super().on_body(body)

    def _refuse(self, status: int, message: str) -> None:
        self.refusal = (status, message)
        raise _Refused(message)  # httptools stops; uvicorn answers with send_400_response

    def send_400_response(self, msg: str) -> None:
        refusal = getattr(self, "refusal", None)
        if refusal is None:
            super().send_400_response(msg)
            return
        self.in_head = False
        status, message = refusal
        body = message.encode()
        self.transport.write(
            b"HTTP/1.1 " + _STATUS[status] + b"\r\n"
            b"content-type: text/plain; charset=utf-8\r\n"
            b"content-length: " + str(len(body)).encode() + b"\r\n"
            b"connection: close\r\n\r\n" + body
        )
        self.transport.close()


def serve(host: str, port: int, workers: int) -> None:
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
    )
