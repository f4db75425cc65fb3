"""What the webhook tests share: webhooks, changes and deliveries written and read through
schema/, the app's settings for fast deliveries, the newsroom's editor, and TLS endpoints (a
self-signed certificate; an endpoint that never answers)."""

from __future__ import annotations

import asyncio
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.testclient import TestClient

from api.app import create_app
from api.settings import ApiSettings
from api.webhooks import sender
from schema import changes, webhooks
from schema.db import create_engine, open_session
from schema.tables import Change, ChangeAction, ChangeEntity, WebhookDelivery
from tests.api.conftest import Api
from tests.conftest import unavailable
from tests.helpers import make_key, query

ARTICLE = "magnesium-for-chronic-pain"
UPDATE = """mutation($slug: String!, $v: Int!, $patch: ArticlePatch!) {
  updateArticle(slug: $slug, expectedVersion: $v, patch: $patch) {
  article { version } errors { code } } }"""

T = TypeVar("T")


def settings(database_url: str, **overrides: Any) -> ApiSettings:
    """The app's settings for tests: deliveries to this machine, polled and retried fast."""
    values: dict[str, Any] = {
        "database_url": database_url,
        "site_url": "https://health.example",
        "webhooks_allow_private_urls": True,
        "webhooks_poll_ms": 30,
        "webhooks_timeout_ms": 2000,
        # 5 s -> 0.5 ms, 5 min -> 30 ms, 30 min -> 180 ms: three retries in a fifth of a second.
        "webhooks_retry_scale": 0.0001,
    }
    return ApiSettings(**(values | overrides))


def add_webhook(url: str, database_url: str, events: str = "*") -> webhooks.Webhook:
    async def go() -> webhooks.Webhook:
        engine = create_engine(database_url)
        try:
            async with open_session(engine, write=True) as session:
                return await webhooks.add_webhook(
                    session, url=url, events=webhooks.parse_events(events)
                )
        finally:
            await engine.dispose()

    return asyncio.run(go())


def deliveries(database_url: str) -> list[dict[str, Any]]:
    return query(
        database_url,
        "SELECT id, message_id, event_type, status, attempts, last_status_code, last_error, "
        "body FROM webhook_delivery ORDER BY id",
    )


def first(database_url: str) -> dict[str, Any]:
    """The first delivery, or {} while there is none."""
    return next(iter(deliveries(database_url)), {})


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


def one_delivery(engine: AsyncEngine) -> Awaitable[None]:
    async def go() -> None:
        await new_webhook(engine)
        await new_change(engine)
        await fan_out_all(engine)

    return go()


async def logged(engine: AsyncEngine) -> list[WebhookDelivery]:
    async with open_session(engine) as session:
        return list((await session.execute(select(WebhookDelivery))).scalars())


@pytest.fixture
def editor(seeded: str) -> Iterator[Api]:
    """The newsroom (a key that may write) on the app with fast deliveries."""
    key = make_key(seeded, "newsroom", ["write"])
    with TestClient(create_app(settings(seeded))) as client:
        yield Api(client, key)


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for `localhost` (needs the openssl command): its file and
    its key's."""
    if shutil.which("openssl") is None:
        unavailable("no openssl command to make a test certificate with")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


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
    cert, key = make_certificate(tmp_path)
    monkeypatch.setattr(sender, "_tls", ssl.create_default_context(cafile=str(cert)))
    with SilentTLS(cert, key) as server:
        yield server
