"""The fan-out: which changes each webhook hears of (the events it names, only changes made
since it was added, even one added while a fan-out runs), and nothing written when no one
listens."""

from __future__ import annotations

import time

import pytest
from graphql_relay import to_global_id
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from starlette.testclient import TestClient

from api.app import create_app
from schema import webhooks
from tests.api.conftest import Api
from tests.api.webhooks.conftest import (
    ARTICLE,
    UPDATE,
    add_webhook,
    deliveries,
    fan_out_all,
    new_change,
    new_webhook,
    settings,
    told,
    with_engine,
)
from tests.api.webhooks.receiver import Receiver
from tests.helpers import query


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


def test_a_webhook_hears_only_of_changes_after_it_was_added(editor: Api, seeded: str) -> None:
    editor.data(UPDATE, {"slug": ARTICLE, "v": 1, "patch": {"summary": "Before."}})
    with Receiver() as receiver:
        hook = add_webhook(receiver.url(), seeded)
        receiver.secret = hook.secret
        editor.data(UPDATE, {"slug": ARTICLE, "v": 2, "patch": {"summary": "After."}})
        receiver.wait("a delivery", lambda: len(receiver.seen) == 1)
        [payload] = receiver.seen.values()
    article_id = query(seeded, "SELECT id FROM article WHERE slug = :s", s=ARTICLE)[0]["id"]
    assert payload["data"]["id"] == to_global_id("Article", str(article_id))
    assert (payload["type"], payload["data"]["version"]) == ("article.updated", 3)
    assert len(deliveries(seeded)) == 1


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


def test_without_webhooks_the_fan_out_writes_nothing(seeded: str) -> None:
    with TestClient(create_app(settings(seeded))):
        time.sleep(0.2)  # several polls
    assert query(seeded, "SELECT change_id FROM outbox_cursor") == [{"change_id": 0}]
    add_webhook("http://127.0.0.1:9/", seeded)
    newest = query(seeded, "SELECT MAX(id) AS id FROM change")[0]["id"]
    assert query(seeded, "SELECT change_id FROM outbox_cursor") == [{"change_id": newest}]
