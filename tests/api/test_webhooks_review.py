"""Webhooks under races and misbehaving receivers: a webhook added while the fan-out runs, a
TLS endpoint that never answers, a hung partner beside a healthy one, replays and late logs."""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
import socket
import ssl
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from starlette.testclient import TestClient

from api.app import create_app
from api.cli import main
from api.webhooks import sender
from api.webhooks.addresses import Refused, parse_url
from api.webhooks.sender import post
from schema import changes, webhooks
from schema.db import create_engine, open_session
from schema.tables import Change, ChangeAction, ChangeEntity, WebhookDelivery, utcnow
from tests.api.test_webhooks import deliveries, first, make_certificate, settings
from tests.api.webhook_receiver import Receiver
from tests.helpers import query

T = TypeVar("T")


def with_engine(database_url: str, work: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    async def go() -> T:
        engine = create_engine(database_url)
        try:
            return await work(engine)
        finally:
            await engine.dispose()

    return asyncio.run(go())


async def new_webhook(engine: AsyncEngine, url: str = "http://127.0.0.1:9/") -> webhooks.Webhook:
    async with open_session(engine, write=True) as session:
        return await webhooks.add_webhook(session, url=url, events=["*"])


async def new_change(engine: AsyncEngine, slug: str = "a") -> int:
    """A public change committed (as every content writer does, under the writers' lock)."""
    async with open_session(engine, write=True) as session:
        await changes.record(
            session, [changes.Changed(ChangeEntity.ARTICLE, 1, slug, ChangeAction.UPDATED, 2)]
        )
    async with engine.connect() as connection:
        return int((await connection.execute(select(func.max(Change.id)))).scalar() or 0)


async def fan_out_all(engine: AsyncEngine) -> None:
    while await webhooks.fan_out(engine, payload=lambda change: "{}"):
        pass


def told(database_url: str) -> set[tuple[int, int]]:
    """(webhook id, change id) of every delivery."""
    rows = query(database_url, "SELECT webhook_id, change_id FROM webhook_delivery")
    return {(r["webhook_id"], r["change_id"]) for r in rows}


# PostgreSQL only: SQLite's fan-out holds the one writer's lock, so nothing commits meanwhile.
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_webhook_added_while_the_fan_out_runs_hears_the_next_change(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = webhooks.list_webhooks
    late: dict[str, int] = {}

    async def go(engine: AsyncEngine) -> tuple[int, int]:
        first = await new_webhook(engine)
        before = await new_change(engine, "before")

        async def list_then_add(session: AsyncSession) -> list[webhooks.Webhook]:
            # The fan-out reads the webhooks; then, before it is done, a webhook is added
            # and a change committed (another process, between two of its statements).
            listed = await real(session)
            if not late:
                late["webhook"] = int((await new_webhook(engine)).id or 0)
                late["change"] = await new_change(engine, "after")
            return listed

        monkeypatch.setattr(webhooks, "list_webhooks", list_then_add)
        await fan_out_all(engine)
        return int(first.id or 0), before

    first, before = with_engine(database_url, go)
    assert late, "the fan-out never listed the webhooks"
    assert told(database_url) == {
        (first, before),
        (first, late["change"]),
        (late["webhook"], late["change"]),
    }


class SilentTLS:
    """A TLS endpoint that completes the handshake, reads the request, and then neither
    answers nor closes (nor ever answers a close_notify)."""

    def __init__(self, cert: Path, key: str | Path, answer: bytes = b"") -> None:
        self.answer = answer  # sent before going silent
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(cert, key)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.held: list[socket.socket] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return  # closed
            try:
                connection.settimeout(5)
                tls = self.context.wrap_socket(connection, server_side=True)
                tls.recv(65536)
                tls.sendall(self.answer)
            except OSError:
                connection.close()
                continue
            self.held.append(tls)

    def url(self) -> str:
        return f"https://localhost:{self.listener.getsockname()[1]}/hook"

    def __enter__(self) -> SilentTLS:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.listener.close()
        for connection in self.held:
            connection.close()


@pytest.fixture
def silent_tls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SilentTLS]:
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command")
    cert, key = make_certificate(tmp_path)
    monkeypatch.setattr(sender, "_tls", ssl.create_default_context(cafile=str(cert)))
    with SilentTLS(cert, key) as server:
        yield server


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


def test_a_silent_tls_endpoint_fails_after_its_attempts(
    database_url: str, silent_tls: SilentTLS
) -> None:
    async def setup(engine: AsyncEngine) -> None:
        await new_webhook(engine, silent_tls.url())
        await new_change(engine)

    with_engine(database_url, setup)
    # Eight attempts of 0.3 s, the schedule between them shrunk to 0.2 s in all.
    fast = settings(database_url, webhooks_timeout_ms=300, webhooks_retry_scale=0.000002)
    with TestClient(create_app(fast)):
        deadline = time.monotonic() + 15
        while first(database_url).get("status") != "failed":
            assert time.monotonic() < deadline, deliveries(database_url)
            time.sleep(0.05)
    [logged] = deliveries(database_url)
    assert (logged["attempts"], logged["last_error"]) == (8, "no answer within 0.3 s")
    assert len(silent_tls.held) == 8


def test_a_hung_endpoint_does_not_hold_up_the_others(database_url: str) -> None:
    with Receiver() as hung, Receiver() as healthy:
        hung.plan = [("hang", 4.0)] * 10

        async def setup(engine: AsyncEngine) -> None:
            await new_webhook(engine, hung.url())
            await new_change(engine, "for-the-hung-one-only")
            healthy.secret = (await new_webhook(engine, healthy.url())).secret
            await new_change(engine, "for-both")

        with_engine(database_url, setup)
        two = settings(database_url, webhooks_concurrency=2, webhooks_timeout_ms=3000)
        with TestClient(create_app(two)):
            started = time.monotonic()
            healthy.wait("a delivery", lambda: len(healthy.seen) == 1, timeout=10)
            # A slot is free now, but the hung endpoint may not take it: it has one.
            with_engine(database_url, lambda engine: new_change(engine, "later"))
            healthy.wait("a second delivery", lambda: len(healthy.seen) == 2, timeout=10)
            took = time.monotonic() - started
            # Not once the hung endpoint's attempt times out (3 s): beside it.
            assert took < 2, took
            assert len(hung.received) == 1  # one attempt at a time to the hung one


def _one_delivery(engine: AsyncEngine) -> Awaitable[None]:
    async def go() -> None:
        await new_webhook(engine)
        await new_change(engine)
        await fan_out_all(engine)

    return go()


async def logged(engine: AsyncEngine) -> list[WebhookDelivery]:
    async with open_session(engine) as session:
        return list((await session.execute(select(WebhookDelivery))).scalars())


def test_an_attempt_logged_after_its_lease_ran_out_is_ignored(database_url: str) -> None:
    async def go(engine: AsyncEngine) -> None:
        await _one_delivery(engine)
        start = utcnow()
        [late] = await webhooks.claim(engine, limit=5, lease_s=10, now=start)
        assert await webhooks.claim(engine, limit=5, lease_s=10, now=start) == []  # leased
        # The lease runs out (its sender seemed dead) and another sender claims it.
        later = start + dt.timedelta(seconds=11)
        [again] = await webhooks.claim(engine, limit=5, lease_s=10, now=later)
        assert (late.attempt, again.attempt) == (1, 2)
        await webhooks.finish(engine, late, delivered=True, status_code=200, error=None, retry_in=0)
        [row] = await logged(engine)
        assert (row.status, row.attempts, row.last_status_code) == ("pending", 2, None)
        await webhooks.finish(
            engine, again, delivered=False, status_code=500, error="HTTP 500", retry_in=5
        )
        [row] = await logged(engine)
        assert (row.status, row.attempts, row.last_error) == ("pending", 2, "HTTP 500")
        assert row.leased_until is None

    with_engine(database_url, go)


def test_a_delivery_is_not_replayed_while_an_attempt_is_under_way(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    async def claimed(engine: AsyncEngine) -> webhooks.Claim:
        await _one_delivery(engine)
        [attempt] = await webhooks.claim(engine, limit=5, lease_s=60)
        return attempt

    attempt = with_engine(database_url, claimed)
    replay = ["webhooks", "replay", str(attempt.id), "--database-url", database_url]
    assert main(replay) == 1
    said = capsys.readouterr().err
    assert f"delivery {attempt.id} is being sent now" in said and "UTC" in said
    [row] = deliveries(database_url)
    assert (row["status"], row["attempts"]) == ("pending", 1)  # untouched

    async def failed(engine: AsyncEngine) -> None:
        await webhooks.finish(
            engine, attempt, delivered=False, status_code=500, error="HTTP 500", retry_in=None
        )

    with_engine(database_url, failed)  # logged: it may be replayed now
    assert main(replay) == 0
    assert "will be sent again now" in capsys.readouterr().out
    assert first(database_url)["status"] == "pending"


@pytest.mark.parametrize(
    "args",
    [
        ["remove", "99999999999"],
        ["replay", "2147483648"],
        ["replay", "0"],
        ["deliveries", "--webhook", "-1"],
        ["remove", "one"],
    ],
)
def test_ids_out_of_range_are_refused_naming_them(
    database_url: str, capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["webhooks", *args, "--database-url", database_url])
    assert exited.value.code == 2
    said = capsys.readouterr().err
    assert "must be a whole number from 1 to 2147483647" in said
    assert ("argument --webhook" if "--webhook" in args else "argument id") in said


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


def test_a_webhook_hears_nothing_from_before_it_was_added(database_url: str) -> None:
    # The fan-out has not run since the first change: only since_change_id keeps it from
    # the webhook added after it.
    async def go(engine: AsyncEngine) -> tuple[int, int, int, int]:
        old = await new_webhook(engine)
        before = await new_change(engine, "before")
        new = await new_webhook(engine)
        after = await new_change(engine, "after")
        await fan_out_all(engine)
        return int(old.id or 0), int(new.id or 0), before, after

    old, new, before, after = with_engine(database_url, go)
    assert told(database_url) == {(old, before), (old, after), (new, after)}
