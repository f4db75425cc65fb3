"""Webhooks under races and misbehaving receivers: a webhook added while the fan-out runs, a
TLS endpoint that never answers, a hung partner beside a healthy one, replays and late logs."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from schema import changes, webhooks
from schema.db import create_engine, is_sqlite, open_session
from schema.tables import Change, ChangeAction, ChangeEntity
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


def test_a_webhook_added_while_the_fan_out_runs_hears_the_next_change(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if is_sqlite(database_url):
        pytest.skip("SQLite's fan-out holds the one writer's lock: nothing commits meanwhile")
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
