"""Deliveries through the running app: signed Standard Webhooks messages of public changes,
retried on the schedule with the same message, failed and replayed, never redirected, one
endpoint at a time beside the others, under a lease; and the log of them, pruned. Each is
verified by a real receiver with an independent implementation (`standardwebhooks`)."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.testclient import TestClient

from api.app import create_app
from api.cli import main
from schema.deliveries import SCHEDULE_S, claim, finish, retry_delay
from schema.tables import utcnow
from tests.api.conftest import Api
from tests.api.webhooks.conftest import (
    ARTICLE,
    UPDATE,
    SilentTLS,
    add_webhook,
    deliveries,
    first,
    logged,
    new_change,
    new_webhook,
    one_delivery,
    settings,
    with_engine,
)
from tests.api.webhooks.receiver import Receiver
from tests.helpers import execute, make_key, query

PUBLISH = """mutation($slug: String!) { publishArticle(slug: $slug) {
  article { id version url } errors { code } } }"""
UNPUBLISH = """mutation($slug: String!) { unpublishArticle(slug: $slug) {
  article { version } errors { code } } }"""
CREATE = """mutation($input: ArticleInput!) { createArticle(input: $input) {
  article { id slug version } errors { code } } }"""
UPDATE_TOPIC = """mutation($slug: String!, $v: Int!, $patch: TopicPatch!) {
  updateTopic(slug: $slug, expectedVersion: $v, patch: $patch) {
  topic { id version } errors { code } } }"""
DRAFT = {"slug": "magnesium-and-sleep", "title": "Magnesium and Sleep", "body": "Intro."}


def test_public_changes_are_delivered_signed_and_drafts_never(seeded: str) -> None:
    with Receiver() as receiver:
        hook = add_webhook(receiver.url(), seeded, "article.*,topic.updated")
        receiver.secret = hook.secret
        key = make_key(seeded, "newsroom", ["write"])
        with TestClient(create_app(settings(seeded))) as client:
            editor = Api(client, key)
            created = editor.data(CREATE, {"input": DRAFT})["createArticle"]["article"]
            editor.data(
                UPDATE, {"slug": DRAFT["slug"], "v": 1, "patch": {"summary": "Draft only."}}
            )
            published = editor.data(PUBLISH, {"slug": DRAFT["slug"]})["publishArticle"]["article"]
            editor.data(
                UPDATE, {"slug": DRAFT["slug"], "v": 3, "patch": {"summary": "Public now."}}
            )
            editor.data(UNPUBLISH, {"slug": DRAFT["slug"]})
            editor.data(
                UPDATE, {"slug": DRAFT["slug"], "v": 5, "patch": {"summary": "Draft again."}}
            )
            topic = editor.data(
                UPDATE_TOPIC, {"slug": "magnesium", "v": 1, "patch": {"description": "A mineral."}}
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
            Api(client, key).data(UPDATE, {"slug": ARTICLE, "v": 1, "patch": {"summary": "New."}})
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
        receiver.plan = [500] * len(SCHEDULE_S)
        key = make_key(seeded, "newsroom", ["write"])
        fast = settings(seeded, webhooks_retry_scale=0.000002)  # 27.5 h -> 0.2 s
        with TestClient(create_app(fast)) as client:
            Api(client, key).data(UPDATE, {"slug": ARTICLE, "v": 1, "patch": {"summary": "New."}})
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


def test_the_schedule_is_standard_webhooks_and_about_a_day() -> None:
    delays = [retry_delay(n) for n in range(1, 8)]
    assert delays == [5, 300, 1800, 7200, 18000, 36000, 36000]
    assert retry_delay(8) is None
    assert 27 * 3600 < sum(SCHEDULE_S) < 28 * 3600
    assert retry_delay(1, scale=0.5) == 2.5


def test_redirects_are_not_followed(seeded: str) -> None:
    with Receiver() as receiver:
        hook = add_webhook(receiver.url(), seeded, "article.updated")
        receiver.secret = hook.secret
        receiver.plan = [302]
        key = make_key(seeded, "newsroom", ["write"])
        with TestClient(create_app(settings(seeded))) as client:
            Api(client, key).data(UPDATE, {"slug": ARTICLE, "v": 1, "patch": {"summary": "New."}})
            receiver.wait("a delivery", lambda: len(receiver.seen) == 1)
    assert [r.path for r in receiver.received] == ["/hook", "/hook"]  # never /elsewhere


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


def test_an_attempt_logged_after_its_lease_ran_out_is_ignored(database_url: str) -> None:
    async def go(engine: AsyncEngine) -> None:
        await one_delivery(engine)
        start = utcnow()
        [late] = await claim(engine, limit=5, lease_s=10, now=start)
        assert await claim(engine, limit=5, lease_s=10, now=start) == []  # leased
        # The lease runs out (its sender seemed dead) and another sender claims it.
        later = start + dt.timedelta(seconds=11)
        [again] = await claim(engine, limit=5, lease_s=10, now=later)
        assert (late.attempt, again.attempt) == (1, 2)
        await finish(engine, late, delivered=True, status_code=200, error=None, retry_in=0)
        [row] = await logged(engine)
        assert (row.status, row.attempts, row.last_status_code) == ("pending", 2, None)
        await finish(engine, again, delivered=False, status_code=500, error="HTTP 500", retry_in=5)
        [row] = await logged(engine)
        assert (row.status, row.attempts, row.last_error) == ("pending", 2, "HTTP 500")
        assert row.leased_until is None

    with_engine(database_url, go)


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
