"""Helpers the tests share: run the loader, and read whole tables back for comparison."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import text

from schema.db import create_engine
from seed_data.loader import LoadResult, load_paths

TABLES = [
    "expert",
    "topic",
    "article",
    "article_topic",
    "quote",
    "related_link",
    "reference",
    "article_revision",
]


def clear_of_a_rate_window_edge() -> None:
    """Rate-limit windows are clock minutes: a test counting requests must not straddle two,
    so near the end of one it waits for the next."""
    if time.time() % 60 > 55:
        time.sleep(60.5 - time.time() % 60)


def load(url: str, *paths: Path, dry_run: bool = False) -> LoadResult:
    async def go() -> LoadResult:
        engine = create_engine(url)
        try:
            return await load_paths(engine=engine, paths=list(paths), dry_run=dry_run)
        finally:
            await engine.dispose()

    return asyncio.run(go())


def query(url: str, sql: str, **params: Any) -> list[dict[str, Any]]:
    async def go() -> list[dict[str, Any]]:
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                result = await conn.execute(text(sql), params)
                return [dict(row) for row in result.mappings()]
        finally:
            await engine.dispose()

    return asyncio.run(go())


def execute(url: str, sql: str, **params: Any) -> None:
    """Run one writing statement and commit it."""

    async def go() -> None:
        engine = create_engine(url)
        try:
            async with engine.begin() as conn:
                await conn.execute(text(sql), params)
        finally:
            await engine.dispose()

    asyncio.run(go())


def dump(url: str) -> dict[str, list[dict[str, Any]]]:
    """Every row of every content table, in a stable order."""
    out = {}
    for table in TABLES:
        rows = query(url, f"SELECT * FROM {table}")
        out[table] = sorted(rows, key=lambda r: sorted((k, str(v)) for k, v in r.items()))
    return out


def make_key(
    url: str,
    name: str,
    scopes: list[str] | None = None,
    origins: list[str] | None = None,
    rate_per_minute: int | None = None,
) -> str:
    """Store a new API key (as `healthcontent keys create` does) and return it."""
    from schema.db import open_session
    from schema.keys import create_key

    async def go() -> str:
        engine = create_engine(url)
        try:
            async with open_session(engine, write=True) as session:
                new = await create_key(
                    session,
                    name=name,
                    scopes=scopes or [],
                    origins=origins or [],
                    rate_per_minute=rate_per_minute,
                )
            return new.token
        finally:
            await engine.dispose()

    return asyncio.run(go())


def revoke(url: str, name: str) -> None:
    """Revoke a key, as `healthcontent keys revoke` does."""
    from schema.db import open_session
    from schema.keys import revoke_key

    async def go() -> None:
        engine = create_engine(url)
        try:
            async with open_session(engine, write=True) as session:
                await revoke_key(session, name)
        finally:
            await engine.dispose()

    asyncio.run(go())


@contextmanager
def write_lock_held(url: str) -> Iterator[threading.Event]:
    """Hold the content write lock (what a long load holds) in another thread until the
    returned event is set or the block ends."""
    from schema.db import open_session

    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        async def go() -> None:
            engine = create_engine(url)
            try:
                async with open_session(engine, write=True):
                    locked.set()
                    await asyncio.to_thread(release.wait, 30)
            finally:
                await engine.dispose()

        asyncio.run(go())

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert locked.wait(10), "the write lock was not taken"
        yield release
    finally:
        release.set()
        holder.join()
