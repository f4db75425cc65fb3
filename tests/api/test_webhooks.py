"""Webhooks: signed Standard Webhooks deliveries of public changes, retried, logged, and
verified by a real receiver with an independent implementation (`standardwebhooks`)."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from graphql_relay import to_global_id
from starlette.testclient import TestClient

from api.app import create_app
from api.cli import main
from api.settings import ApiSettings
from api.webhooks import sender
from api.webhooks.addresses import Refused, check_url, is_public
from api.webhooks.sender import BadResponse, post
from schema import webhooks
from schema.db import create_engine, open_session
from seed_data import SEED_DIR
from tests.api.webhook_receiver import Receiver
from tests.helpers import execute, load, make_key, query

ARTICLE = "magnesium-for-chronic-pain"
PUBLISH = """mutation($slug: String!) { publishArticle(slug: $slug) {
  article { id version url } errors { code } } }"""
UNPUBLISH = """mutation($slug: String!) { unpublishArticle(slug: $slug) {
  article { version } errors { code } } }"""
CREATE = """mutation($input: ArticleInput!) { createArticle(input: $input) {
  article { id slug version } errors { code } } }"""
UPDATE = """mutation($slug: String!, $v: Int!, $patch: ArticlePatch!) {
  updateArticle(slug: $slug, expectedVersion: $v, patch: $patch) {
  article { version } errors { code } } }"""
UPDATE_TOPIC = """mutation($slug: String!, $v: Int!, $patch: TopicPatch!) {
  updateTopic(slug: $slug, expectedVersion: $v, patch: $patch) {
  topic { id version } errors { code } } }"""
DRAFT = {"slug": "magnesium-and-sleep", "title": "Magnesium and Sleep", "body": "Intro."}


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


class Editor:
    def __init__(self, client: TestClient, key: str) -> None:
        self.client, self.key = client, key

    def data(self, document: str, **variables: Any) -> Any:
        response = self.client.post(
            "/graphql",
            json={"query": document, "variables": variables},
            headers={"authorization": f"Bearer {self.key}"},
        )
        body = response.json()
        assert "errors" not in body, body
        return body["data"]


def settings(database_url: str, **overrides: Any) -> ApiSettings:
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


@pytest.fixture
def seeded(database_url: str) -> str:
    assert load(database_url, SEED_DIR).ok
    return database_url


@pytest.fixture
def editor(seeded: str) -> Iterator[Editor]:
    key = make_key(seeded, "newsroom", ["write"])
    with TestClient(create_app(settings(seeded))) as client:
        yield Editor(client, key)


def test_public_changes_are_delivered_signed_and_drafts_never(seeded: str) -> None:
    with Receiver() as receiver:
        hook = add_webhook(receiver.url(), seeded, "article.*,topic.updated")
        receiver.secret = hook.secret
        key = make_key(seeded, "newsroom", ["write"])
        with TestClient(create_app(settings(seeded))) as client:
            editor = Editor(client, key)
            created = editor.data(CREATE, input=DRAFT)["createArticle"]["article"]
            editor.data(UPDATE, slug=DRAFT["slug"], v=1, patch={"summary": "Draft only."})
            published = editor.data(PUBLISH, slug=DRAFT["slug"])["publishArticle"]["article"]
            editor.data(UPDATE, slug=DRAFT["slug"], v=3, patch={"summary": "Public now."})
            editor.data(UNPUBLISH, slug=DRAFT["slug"])
            editor.data(UPDATE, slug=DRAFT["slug"], v=5, patch={"summary": "Draft again."})
            topic = editor.data(
                UPDATE_TOPIC, slug="magnesium", v=1, patch={"description": "A mineral."}
            )["updateTopic"]["topic"]
            receiver.wait("4 deliveries", lambda: len(receiver.seen) == 4)

    assert receiver.rejected == []
    payloads = [receiver.seen[r.headers["webhook-id"]] for r in receiver.received]
    # Sent concurrently, so they may arrive in any order (the README says so).
    by_type = {p["type"]: p for p in payloads}
    assert sorted(by_type) == [
        "article.published",
        "article.unpublished",
        "article.updated",
        "topic.updated",
    ]
    assert len(payloads) == 4
    assert by_type["article.published"]["data"] == {
        "__typename": "Article",
        "id": created["id"],
        "slug": DRAFT["slug"],
        "version": 3,
        "url": published["url"],
    }
    assert published["url"] == f"https://health.example/articles/{DRAFT['slug']}"
    assert by_type["topic.updated"]["data"] == {
        "__typename": "Topic",
        "id": topic["id"],
        "slug": "magnesium",
        "version": 2,
        "url": "https://health.example/topics/magnesium",
    }
    assert by_type["article.published"]["timestamp"].endswith("Z")
    for request in receiver.received:
        assert request.path == "/hook"
        assert request.headers["content-type"] == "application/json"
        assert request.headers["webhook-id"].startswith("msg_")
        assert request.headers["webhook-signature"].startswith("v1,")
    logged = deliveries(seeded)
    assert [(d["status"], d["attempts"], d["last_status_code"]) for d in logged] == [
        ("delivered", 1, 200)
    ] * 4
    # The body stored is the body sent, byte for byte.
    assert sorted(d["body"].encode() for d in logged) == sorted(r.body for r in receiver.received)


def test_failures_are_retried_with_the_same_message_until_delivered(seeded: str) -> None:
    with Receiver() as receiver:
        hook = add_webhook(receiver.url(), seeded, "article.updated")
        receiver.secret = hook.secret
        receiver.plan = [500, 503, 429]
        key = make_key(seeded, "newsroom", ["write"])
        with TestClient(create_app(settings(seeded))) as client:
            Editor(client, key).data(UPDATE, slug=ARTICLE, v=1, patch={"summary": "New."})
            receiver.wait("a delivery", lambda: len(receiver.seen) == 1)

    attempts = receiver.received
    assert len(attempts) == 4
    assert len({r.headers["webhook-id"] for r in attempts}) == 1
    assert len({r.body for r in attempts}) == 1  # identical bytes on every attempt
    [logged] = deliveries(seeded)
    assert (logged["status"], logged["attempts"], logged["last_status_code"]) == (
        "delivered",
        4,
        200,
    )
    assert logged["last_error"] is None


def test_a_delivery_failing_every_attempt_is_failed_and_can_be_replayed(
    seeded: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with Receiver() as receiver:
        hook = add_webhook(receiver.url(), seeded, "article.updated")
        receiver.secret = hook.secret
        receiver.plan = [500] * len(webhooks.SCHEDULE_S)
        key = make_key(seeded, "newsroom", ["write"])
        fast = settings(seeded, webhooks_retry_scale=0.000002)  # 27.5 h -> 0.2 s
        with TestClient(create_app(fast)) as client:
            Editor(client, key).data(UPDATE, slug=ARTICLE, v=1, patch={"summary": "New."})
            receiver.wait("8 attempts", lambda: len(receiver.received) == 8)
            receiver.wait(
                "the log to say failed",
                lambda: first(seeded).get("status") == "failed",
            )
            [logged] = deliveries(seeded)
            assert (logged["attempts"], logged["last_error"]) == (8, "HTTP 500")
            assert receiver.seen == {}

            # The partner mends their endpoint, and replays it: the same message again.
            assert main(["webhooks", "replay", str(logged["id"]), "--database-url", seeded]) == 0
            receiver.wait("the replay", lambda: len(receiver.seen) == 1)
        # Replayed again (a redelivery): the receiver sees the id it knows and acts once.
        assert main(["webhooks", "replay", str(logged["id"]), "--database-url", seeded]) == 0
        with TestClient(create_app(fast)):
            receiver.wait("the second replay", lambda: len(receiver.received) == 10)
        assert len(receiver.seen) == 1

    ids = {r.headers["webhook-id"] for r in receiver.received}
    assert ids == {logged["message_id"]}
    [logged] = deliveries(seeded)
    assert (logged["status"], logged["attempts"]) == ("delivered", 10)
    assert "will be sent again now" in capsys.readouterr().out


def test_redirects_are_not_followed(seeded: str) -> None:
    with Receiver() as receiver:
        hook = add_webhook(receiver.url(), seeded, "article.updated")
        receiver.secret = hook.secret
        receiver.plan = [302]
        key = make_key(seeded, "newsroom", ["write"])
        with TestClient(create_app(settings(seeded))) as client:
            Editor(client, key).data(UPDATE, slug=ARTICLE, v=1, patch={"summary": "New."})
            receiver.wait("a delivery", lambda: len(receiver.seen) == 1)
    assert [r.path for r in receiver.received] == ["/hook", "/hook"]  # never /elsewhere


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
            Editor(client, key).data(UPDATE, slug=ARTICLE, v=1, patch={"summary": "New."})
            receiver.wait("an attempt to be logged", lambda: first(seeded).get("last_error"))
    assert receiver.received == []
    assert "private or reserved" in deliveries(seeded)[0]["last_error"]


def test_a_slow_endpoint_times_out(database_url: str) -> None:
    with Receiver() as receiver:
        receiver.plan = [("hang", 2.0)]

        async def go() -> None:
            with pytest.raises(TimeoutError):
                await post(receiver.url(), b"{}", {}, timeout_s=0.3, allow_private=True)

        asyncio.run(go())


def test_events_are_checked_and_matched() -> None:
    assert webhooks.parse_events("article.*, article.published,*") == [
        "article.*",
        "article.published",
        "*",
    ]
    for bad in ("article.create", "", " , ", "page.*", "x" * 2000):
        with pytest.raises(webhooks.WebhookProblem, match="--events"):
            webhooks.parse_events(bad)
    assert webhooks.matches(["article.*"], "article.deleted")
    assert webhooks.matches(["*"], "expert.created")
    assert not webhooks.matches(["article.published"], "article.updated")
    assert not webhooks.matches(["topic.*"], "article.updated")


def test_the_schedule_is_standard_webhooks_and_about_a_day() -> None:
    delays = [webhooks.retry_delay(n) for n in range(1, 8)]
    assert delays == [5, 300, 1800, 7200, 18000, 36000, 36000]
    assert webhooks.retry_delay(8) is None
    assert 27 * 3600 < sum(webhooks.SCHEDULE_S) < 28 * 3600
    assert webhooks.retry_delay(1, scale=0.5) == 2.5


def test_a_webhook_hears_only_of_changes_after_it_was_added(editor: Editor, seeded: str) -> None:
    editor.data(UPDATE, slug=ARTICLE, v=1, patch={"summary": "Before."})
    with Receiver() as receiver:
        hook = add_webhook(receiver.url(), seeded)
        receiver.secret = hook.secret
        editor.data(UPDATE, slug=ARTICLE, v=2, patch={"summary": "After."})
        receiver.wait("a delivery", lambda: len(receiver.seen) == 1)
        [payload] = receiver.seen.values()
    article_id = query(seeded, "SELECT id FROM article WHERE slug = :s", s=ARTICLE)[0]["id"]
    assert payload["data"]["id"] == to_global_id("Article", str(article_id))
    assert (payload["type"], payload["data"]["version"]) == ("article.updated", 3)
    assert len(deliveries(seeded)) == 1


def test_without_webhooks_the_fan_out_writes_nothing(seeded: str) -> None:
    with TestClient(create_app(settings(seeded))):
        time.sleep(0.2)  # several polls
    assert query(seeded, "SELECT change_id FROM outbox_cursor") == [{"change_id": 0}]
    add_webhook("http://127.0.0.1:9/", seeded)
    newest = query(seeded, "SELECT MAX(id) AS id FROM change")[0]["id"]
    assert query(seeded, "SELECT change_id FROM outbox_cursor") == [{"change_id": newest}]


def test_the_log_of_finished_deliveries_is_pruned(seeded: str) -> None:
    hook = add_webhook("http://127.0.0.1:9/", seeded)
    old, new = "2020-01-01 00:00:00", "2999-01-01 00:00:00"
    for n, (status, created) in enumerate(
        [("delivered", old), ("failed", old), ("pending", old), ("delivered", new)]
    ):
        execute(
            seeded,
            "INSERT INTO webhook_delivery (message_id, webhook_id, change_id, event_type, body, "
            f"status, attempts, created_at) VALUES (:m, :w, :n, 'article.updated', '{{}}', :s, 1, "
            f"'{created}')",
            m=f"msg_{n}",
            w=hook.id,
            n=n,
            s=status,
        )
    with TestClient(create_app(settings(seeded))):
        time.sleep(0.2)
    left = query(seeded, "SELECT message_id FROM webhook_delivery ORDER BY id")
    assert [row["message_id"] for row in left] == ["msg_2", "msg_3"]


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


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for `localhost` (needs the openssl command): its file and
    its key's."""
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


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
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
