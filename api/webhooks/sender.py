"""One webhook attempt: a POST to the address checked (api/webhooks/addresses.py), with a
deadline on the whole exchange, no redirects followed, and only the status line read.

It speaks HTTP/1.1 itself over asyncio streams so that it connects to exactly the address
it checked (TLS still verifies the certificate for the URL's host) and can be cancelled at
any point, with no thread left behind.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Mapping

from api.webhooks.addresses import Refused, parse_url, resolve

MAX_LINE = 8192  # the longest status or header line read
MAX_INTERIM = 20  # 1xx answers (103 Early Hints) skipped before the final one
USER_AGENT = "healthcontent-webhooks/1"
# How long closing a connection may take once the answer is read (a TLS peer may never
# send its close_notify): then it is dropped.
CLOSE_WAIT_S = 1.0

_tls = ssl.create_default_context()


class BadResponse(Exception):
    """The endpoint did not answer with HTTP."""


async def post(
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    timeout_s: float,
    allow_private: bool,
) -> int:
    """POST `body` to `url`; the status code it answered. Raises Refused (an address we may
    not call), TimeoutError, OSError or BadResponse. Takes at most `longest_s(timeout_s)`:
    `timeout_s` until the status line, then a bounded close."""
    parts = parse_url(url)
    assert parts.hostname is not None
    https = parts.scheme == "https"
    port = parts.port or (443 if https else 80)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(timeout_s):
            address = await resolve(parts.hostname, port, allow_private=allow_private)
            reader, writer = await asyncio.open_connection(
                address,
                port,
                ssl=_tls if https else None,
                server_hostname=parts.hostname if https else None,
                limit=MAX_LINE,
                # Closing TLS waits for the peer's close_notify: never the default 30 s.
                **({"ssl_shutdown_timeout": CLOSE_WAIT_S} if https else {}),
            )
            lines = [
                f"POST {target} HTTP/1.1",
                f"Host: {parts.netloc}",
                f"User-Agent: {USER_AGENT}",
                f"Content-Length: {len(body)}",
                "Connection: close",
                *(f"{name}: {value}" for name, value in headers.items()),
            ]
            writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
            await writer.drain()
            status = await _final_status(reader)
    except BaseException:
        # A timeout, an error or a cancel: drop the connection at once (a polite close
        # could wait on a peer that never answers, past the attempt's lease).
        if writer is not None:
            writer.transport.abort()
        raise
    await _close(writer)
    return status


def longest_s(timeout_s: float) -> float:
    """The longest `post` takes with this timeout, closing included."""
    return timeout_s + CLOSE_WAIT_S


async def _final_status(reader: asyncio.StreamReader) -> int:
    for _ in range(MAX_INTERIM + 1):
        status = _status(await _line(reader))
        if status >= 200:
            return status
        while await _line(reader):  # an interim answer's headers
            pass
    raise BadResponse(f"more than {MAX_INTERIM} interim (1xx) answers")


async def _close(writer: asyncio.StreamWriter) -> None:
    """Close politely for at most CLOSE_WAIT_S, then abort: the answer stands whatever
    happens here."""
    writer.close()
    try:
        async with asyncio.timeout(CLOSE_WAIT_S):
            await writer.wait_closed()
    except Exception:
        writer.transport.abort()
    except BaseException:
        writer.transport.abort()
        raise


async def _line(reader: asyncio.StreamReader) -> bytes:
    try:
        line = await reader.readuntil(b"\n")
    except asyncio.IncompleteReadError:
        raise BadResponse("the connection closed before an answer") from None
    except asyncio.LimitOverrunError:
        raise BadResponse(f"an answer line longer than {MAX_LINE} bytes") from None
    return line.rstrip(b"\r\n")


def _status(line: bytes) -> int:
    version, _, rest = line.partition(b" ")
    code = rest[:3]
    if not version.startswith(b"HTTP/1.") or len(code) != 3 or not code.isdigit():
        raise BadResponse(f"not an HTTP answer: {line[:80]!r}")
    return int(code)


__all__ = ["BadResponse", "Refused", "longest_s", "post"]
