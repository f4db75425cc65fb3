"""The engine under cancellation: a stopped request never leaves the process unable to exit."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from schema import db
from schema.db import create_engine, dispose
from tests.conftest import PostgresDatabases

# About a second of work inside SQLite's thread, where cancelling the task does not reach.
SLOW = (
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3000000) "
    "SELECT count(*) FROM c"
)


def test_a_sqlite_statement_cancelled_twice_lets_the_event_loop_close(tmp_path: Path) -> None:
    # The first cancel makes SQLAlchemy terminate the connection (a close queued behind the
    # running statement); the second (a shutdown, say) once left that close waiting for ever.
    async def main() -> None:
        engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/content.db")

        async def run_slow_statement() -> None:
            async with engine.connect() as connection:
                await connection.execute(text(SLOW))

        task = asyncio.create_task(run_slow_statement())
        await asyncio.sleep(0.1)
        task.cancel()
        await asyncio.sleep(0.05)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await dispose(engine)
        # SQLite's thread has finished too: none outlives the loop it answers to.
        assert not [t for t in threading.enumerate() if "_connection_worker" in t.name]

    finished = threading.Event()

    def run() -> None:
        asyncio.run(main())
        finished.set()

    threading.Thread(target=run, daemon=True).start()
    assert finished.wait(15), "the event loop never closed: a task waits for a stopped thread"


def test_a_pooled_connection_that_died_while_idle_is_replaced_unseen(
    postgres: PostgresDatabases, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No ping per checkout (a round trip every request); a connection idle for a while is
    # checked first, so a server restart or failover costs no request an error.
    url = postgres.create()

    async def main() -> list[int]:
        engine = create_engine(url, pool_size=1, max_overflow=0)
        try:
            answers = []
            for _ in range(2):
                async with engine.connect() as connection:
                    answers.append((await connection.execute(text("SELECT 1"))).scalar_one())
                    pid = (await connection.execute(text("SELECT pg_backend_pid()"))).scalar()
                # The server ends the pooled connection while it sits idle.
                admin = await asyncpg.connect(url)
                try:
                    await admin.execute("SELECT pg_terminate_backend($1)", pid)
                finally:
                    await admin.close()
            return answers
        finally:
            await dispose(engine)

    monkeypatch.setattr(db, "IDLE_PING_S", 0.0)
    assert asyncio.run(main()) == [1, 1]
    monkeypatch.setattr(db, "IDLE_PING_S", 3600.0)  # never checked: the dead one is used
    with pytest.raises(DBAPIError):
        asyncio.run(main())
