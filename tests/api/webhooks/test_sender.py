"""The sender (api/webhooks/sender.py, addresses.py): URLs in ASCII, private addresses
refused, the certificate of the URL's host verified, a bounded status line read, and every
attempt ended at its timeout, a TLS endpoint that never answers or never closes included."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import time
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from api.app import create_app
from api.cli import main
from api.webhooks import sender
from api.webhooks.addresses import Refused, check_url, is_public, parse_url
from api.webhooks.sender import BadResponse, post
from tests.api.conftest import Api
from tests.api.webhooks.conftest import (
    ARTICLE,
    UPDATE,
    SilentTLS,
    add_webhook,
    deliveries,
    first,
    make_certificate,
    settings,
)
from tests.api.webhooks.receiver import Receiver
from tests.helpers import make_key, query


def test_private_addresses_are_refused_unless_allowed(seeded: str) -> None:
    for address in (
        "127.0.0.1",
        "10.1.2.3",
        "192.168.0.1",
        "169.254.169.254",
        "::1",
        "::ffff:127.0.0.1",
        "100.64.0.1",
        "0.0.0.0",
        "fe80::1",
        "224.0.0.1",
    ):
        assert not is_public(address), address
    assert is_public("93.184.216.34") and is_public("2606:2800:220:1::1")

    async def refused(url: str) -> str:
        with pytest.raises(Refused) as caught:
            await check_url(url, allow_private=False)
        return str(caught.value)

    assert "private" in asyncio.run(refused("http://localhost:9/hook"))
    assert "private" in asyncio.run(refused("http://169.254.169.254/latest/meta-data"))
    assert "private" in asyncio.run(refused("http://[::1]:9/"))
    assert asyncio.run(check_url("http://127.0.0.1:9/", allow_private=True))

    # At send time too (a name that resolved elsewhere when it was added): never called.
    with Receiver() as receiver:
        add_webhook(receiver.url(), seeded, "article.updated")
        key = make_key(seeded, "newsroom", ["write"])
        strict = settings(seeded, webhooks_allow_private_urls=False)
        with TestClient(create_app(strict)) as client:
            Api(client, key).data(UPDATE, {"slug": ARTICLE, "v": 1, "patch": {"summary": "New."}})
            receiver.wait("an attempt to be logged", lambda: first(seeded).get("last_error"))
    assert receiver.received == []
    assert "private or reserved" in deliveries(seeded)[0]["last_error"]


def test_a_non_ascii_url_is_stored_and_sent_in_ascii(
    database_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert (
        parse_url("https://Bücher.example:8443/ä/€?q=数&x=1").geturl()
        == "https://xn--bcher-kva.example:8443/%C3%A4/%E2%82%AC?q=%E6%95%B0&x=1"
    )
    with pytest.raises(Refused, match=r"--url: the host .* not a valid internationalised"):
        parse_url("https://" + "ä" * 70 + ".example/")
    with pytest.raises(Refused, match="--url: at most 2000 characters once in ASCII"):
        parse_url("https://example.org/" + "€" * 600)

    monkeypatch.setenv("WEBHOOKS_ALLOW_PRIVATE_URLS", "1")
    with Receiver() as receiver:
        added = ["webhooks", "add", "--url", receiver.url("/hooks/€?q=数"), "--events", "*"]
        assert main([*added, "--database-url", database_url]) == 0
        capsys.readouterr()
        [stored] = query(database_url, "SELECT url FROM webhook")
        assert stored["url"] == receiver.url("/hooks/%E2%82%AC?q=%E6%95%B0")
        status = asyncio.run(post(stored["url"], b"{}", {}, timeout_s=2, allow_private=True))
        assert status == 200
        assert [r.path for r in receiver.received] == ["/hooks/%E2%82%AC?q=%E6%95%B0"]


def test_https_verifies_the_certificate_of_the_urls_host(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, key = make_certificate(tmp_path)
    served = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    served.load_cert_chain(cert, key)
    names: list[str | None] = []
    served.sni_callback = lambda sock, name, context: names.append(name)  # type: ignore[assignment,misc,return-value]
    seen: list[bytes] = []

    async def exchange() -> int:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            seen.append(await reader.readuntil(b"\r\n\r\n"))
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=served)
        port = server.sockets[0].getsockname()[1]
        try:
            url = f"https://localhost:{port}/hook"
            return await post(url, b"{}", {}, timeout_s=5, allow_private=True)
        finally:
            server.close()
            await server.wait_closed()

    with pytest.raises(ssl.SSLCertVerificationError):  # not a certificate we trust
        asyncio.run(exchange())
    # Trusted (as a partner's CA-signed certificate is): connected to the address checked,
    # with the URL's host in SNI and Host.
    monkeypatch.setattr(sender, "_tls", ssl.create_default_context(cafile=str(cert)))
    assert asyncio.run(exchange()) == 200
    assert names[-1] == "localhost"
    assert b"\r\nHost: localhost:" in seen[-1]


def test_the_sender_reads_a_bounded_status_line_and_nothing_more() -> None:
    async def answering(answer: bytes) -> int:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(answer)
            with contextlib.suppress(ConnectionError):
                await writer.drain()
            writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            url = f"http://127.0.0.1:{port}/hook?x=1"
            return await post(url, b"{}", {}, timeout_s=2, allow_private=True)
        finally:
            server.close()
            await server.wait_closed()

    hints = b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n"
    assert asyncio.run(answering(hints)) == 204
    assert asyncio.run(answering(b"HTTP/1.0 418 Teapot\r\n" + b"x" * 100_000)) == 418
    for garbage, said in [
        (b"SSH-2.0-OpenSSH\r\n", "not an HTTP answer"),
        (b"HTTP/1.1 200 " + b"x" * 20_000, "longer than"),
        (b"", "closed before an answer"),
    ]:
        with pytest.raises(BadResponse, match=said):
            asyncio.run(answering(garbage))

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    with pytest.raises(OSError):
        asyncio.run(post(f"http://127.0.0.1:{closed}/", b"{}", {}, timeout_s=2, allow_private=True))


def test_a_slow_endpoint_times_out(database_url: str) -> None:
    with Receiver() as receiver:
        receiver.plan = [("hang", 2.0)]

        async def go() -> None:
            with pytest.raises(TimeoutError):
                await post(receiver.url(), b"{}", {}, timeout_s=0.3, allow_private=True)

        asyncio.run(go())


def test_an_attempt_on_a_silent_tls_endpoint_ends_at_its_timeout(silent_tls: SilentTLS) -> None:
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        asyncio.run(post(silent_tls.url(), b"{}", {}, timeout_s=0.3, allow_private=True))
    took = time.monotonic() - started
    assert took < 0.3 + sender.CLOSE_WAIT_S, took  # not asyncio's 30 s TLS shutdown
    assert len(silent_tls.held) == 1


def test_an_answer_stands_however_long_the_tls_close_would_take(
    silent_tls: SilentTLS,
) -> None:
    silent_tls.answer = b"HTTP/1.1 204 No Content\r\n\r\n"  # then silent, never closing
    started = time.monotonic()
    status = asyncio.run(post(silent_tls.url(), b"{}", {}, timeout_s=0.5, allow_private=True))
    took = time.monotonic() - started
    assert status == 204
    assert took < 0.5 + sender.CLOSE_WAIT_S, took
