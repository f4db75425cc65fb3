"""How `healthcontent serve` runs the app: uvicorn (uvloop, httptools) with bounded requests.

uvicorn's httptools protocol keeps every byte of a request line and of its headers until they
end (a 200 MB URL grew a worker by 200 MB). Here a request line over MAX_URL_BYTES gets 414
and headers over MAX_HEADER_BYTES (or MAX_HEADERS of them) get 431, and the connection is
closed. Bodies are bounded by the app itself (MAX_BODY_BYTES): it answers 413 without reading
on, and the rest of the body is drained (read and dropped, so that the client, still
sending, can read the answer) up to MAX_DRAIN_BYTES, then the connection is closed.
Forwarded-for headers are the app's business too (FORWARDED_ALLOW_IPS), so uvicorn's own
handling of them is off.
"""

from __future__ import annotations

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

MAX_URL_BYTES = 64 * 1024  # a GET query this long should be a POST (or a persisted query)
MAX_HEADER_BYTES = 64 * 1024
MAX_HEADERS = 100
MAX_DRAIN_BYTES = 16 * 1024 * 1024

_STATUS = {414: b"414 URI Too Long", 431: b"431 Request Header Fields Too Large"}


class _Refused(Exception):
    """Raised from a parser callback to stop parsing a request we will not take."""


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, refusing oversized request lines and headers."""

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
