"""The one async engine and session helper every entry point uses."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from schema.settings import normalise_database_url

# How long a writer waits for another writer's lock (a long load, say) by default.
WRITE_LOCK_WAIT_MS = 30_000
# How long one SQLite statement waits for a lock inside the driver's thread. Short: the wait
# for the write lock happens in `open_session`, where the event loop can cancel it (a task
# cancelled while aiosqlite's thread waits leaves SQLAlchemy unable to close the connection).
SQLITE_BUSY_TIMEOUT_MS = 100
WRITE_LOCK_POLL_S = 0.02
# PostgreSQL's equivalent of SQLite's BEGIN IMMEDIATE: writers of content take this
# transaction-scoped advisory lock, so plan-then-write never races another writer.
PG_WRITE_LOCK = 0x6865616C7468  # "health"
# A pooled PostgreSQL connection idle longer than this is pinged before use.
IDLE_PING_S = 10.0
THREAD_STOP_WAIT_S = 5.0  # how long `dispose` waits for a stopped SQLite thread to finish
LOCK_WAIT = "lock_wait_ms"  # the engine's execution option: how long writers wait for the lock


# Threads of terminated SQLite connections, until they end.
_stopping: weakref.WeakSet[threading.Thread] = weakref.WeakSet()


_log = logging.getLogger(__name__)


def _json_dumps(value: Any) -> str:
    # orjson: several times faster than json for the sections column written on every load.
    return orjson.dumps(value).decode()


def is_sqlite(engine_or_url: AsyncEngine | str) -> bool:
    url = engine_or_url if isinstance(engine_or_url, str) else str(engine_or_url.url)
    return url.startswith("sqlite")


def create_engine(
    url: str,
    *,
    connect_timeout_ms: int | None = None,
    lock_wait_ms: int = WRITE_LOCK_WAIT_MS,
    **kwargs: Any,
) -> AsyncEngine:
    """An async engine for `url` (any form `normalise_database_url` accepts).

    SQLite gets WAL (readers never wait for the loader), foreign keys, a short busy timeout,
    and writing transactions that really start at BEGIN IMMEDIATE: pysqlite otherwise defers
    BEGIN to the first write, so the reads a load validates against would not be in its
    transaction. A writing transaction waits up to `lock_wait_ms` for another's lock.
    PostgreSQL connections give up opening after `connect_timeout_ms` (asyncpg waits 60 s).
    """
    url = normalise_database_url(url)
    kwargs.setdefault("json_serializer", _json_dumps)
    kwargs.setdefault("json_deserializer", orjson.loads)
    kwargs["execution_options"] = {**kwargs.get("execution_options", {}), LOCK_WAIT: lock_wait_ms}
    if not is_sqlite(url):
        if connect_timeout_ms is not None:
            connect_args = kwargs.setdefault("connect_args", {})
            connect_args["timeout"] = connect_timeout_ms / 1000
        engine = create_async_engine(url, **kwargs)
        _ping_after_idle(engine)
        return engine

    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, **kwargs)
    engine.sync_engine.dialect.do_terminate = _stop_sqlite_thread  # type: ignore[method-assign]  # replaces SQLAlchemy's, which can hang (_stop_sqlite_thread)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # A writing transaction takes the write lock up front: a read snapshot cannot be
        # upgraded once another writer has committed, but waiting for the lock always works.
        # Reads (one statement per session) run in autocommit: no BEGIN round-trip.
        if conn.get_execution_options().get("write", False):
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _ping_after_idle(engine: AsyncEngine) -> None:
    """Check a pooled connection before use only if it sat idle long enough to have died (a
    restarted or failed-over server): `pool_pre_ping` would cost every request a round trip,
    three outside autocommit. A dead one is replaced, and the checkout retried, at once."""

    @event.listens_for(engine.sync_engine, "checkin")
    def _idle_from(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _check(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.pop("idle_since", None)
        if since is None or time.monotonic() - since < IDLE_PING_S:
            return
        try:
            dbapi_connection.ping()
        except Exception as exc:
            raise DisconnectionError(f"a pooled connection died while idle: {exc}") from exc


def read_sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions for reads only. On PostgreSQL they run in autocommit: no BEGIN before the first
    statement, no ROLLBACK when the connection goes back (each statement sees committed data,
    as each statement of a READ COMMITTED transaction does). SQLite reads already run so."""
    if is_sqlite(engine):
        return session_factory(engine)
    return session_factory(engine.execution_options(isolation_level="AUTOCOMMIT"))


def _stop_sqlite_thread(dbapi_connection: Any) -> None:
    """Terminate an aiosqlite connection: its thread closes it after what it is running.

    SQLAlchemy's own terminate first closes gracefully in a shielded task and, when that is
    cancelled (a request stopped at its deadline), also stops the thread; the graceful close
    then queues a second stop that the stopped thread never answers, and the task waits for
    ever: shutdown hangs (aiosqlite 0.22.1, SQLAlchemy 2.1.9). `dispose` waits for the thread.
    """
    _stopping.add(dbapi_connection._connection._thread)
    dbapi_connection._terminate_force_close()


async def dispose(engine: AsyncEngine) -> None:
    """Close the engine's connections, and wait (a bounded time) for SQLite threads that are
    still finishing a terminated connection, so none outlives the event loop it answers to."""
    await engine.dispose()
    for thread in list(_stopping):
        await asyncio.to_thread(thread.join, THREAD_STOP_WAIT_S)


async def interrupt(driver_connection: Any) -> None:
    """Stop the statement a connection is running, at once, so it can go back to the pool.

    SQLite runs statements in aiosqlite's thread, where cancelling the awaiting task does not
    reach them; sqlite3's interrupt does (a wait for another writer's lock is the exception:
    it ends with the busy timeout). asyncpg needs nothing here: cancelling the awaiting task
    sends PostgreSQL a cancel request.
    """
    if type(driver_connection).__module__.startswith("aiosqlite"):
        with contextlib.suppress(Exception):  # closed meanwhile: nothing left to stop
            await driver_connection.interrupt()


def is_unavailable(error: BaseException) -> bool:
    """Whether `error` says the database cannot be reached (refused, timed out while
    connecting, or the connection was lost), rather than that a statement failed."""
    if isinstance(error, OSError):
        return True
    return isinstance(error, DBAPIError) and error.connection_invalidated


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


@asynccontextmanager
async def open_session(engine: AsyncEngine, *, write: bool = False) -> AsyncIterator[AsyncSession]:
    """One transaction: committed on success, rolled back on any error.

    `write=True` marks a transaction that will write: it first takes the write lock (SQLite's
    at BEGIN IMMEDIATE, a PostgreSQL advisory lock), waiting for another writer as long as
    the engine's `lock_wait_ms`; on SQLite it then raises "database is locked".
    """
    session = await _write_session(engine) if write else session_factory(engine)()
    async with session:
        if not write:
            # Procuring the connection begins the transaction, with our option already set.
            await session.connection(execution_options={"write": False})
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        await session.commit()


async def _write_session(engine: AsyncEngine) -> AsyncSession:
    """A session whose transaction holds the write lock."""
    wait_ms = int(engine.get_execution_options().get(LOCK_WAIT, WRITE_LOCK_WAIT_MS))
    give_up = time.monotonic() + wait_ms / 1000
    while True:
        session = session_factory(engine)()
        try:
            connection = await session.connection(execution_options={"write": True})
            if connection.dialect.name == "postgresql":
                # Waiting for another writer (a long load, say) is not a slow query: the wait
                # has its own timeout, whatever statement timeout the connection has.
                await connection.execute(text(f"SET LOCAL statement_timeout = {wait_ms}"))
                await connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_WRITE_LOCK}
                )
                await connection.execute(text("SET LOCAL statement_timeout TO DEFAULT"))
            return session
        except OperationalError as exc:
            await session.close()
            if "database is locked" not in str(exc) or time.monotonic() >= give_up:
                raise
        except BaseException:
            await session.close()
            raise
        await asyncio.sleep(WRITE_LOCK_POLL_S)


# Writes of at least this many articles leave the planner's statistics (and PostgreSQL's
# visibility map) stale enough to matter: a count went from 11 ms to 56 ms at 100,000.
LARGE_WRITE = 1000


async def refresh_statistics(engine: AsyncEngine) -> bool:
    """After a large write (committed): fresh planner statistics (ANALYZE) and, on
    PostgreSQL, a VACUUM, whose visibility map lets a count read the index alone (1.3 s at
    100,000 articles). Autovacuum would get there too, later; a server may run none.

    Best effort: the write is done whatever happens here. False (and a warning logged) if
    it could not run, e.g. another writer held SQLite's lock."""
    try:
        if is_sqlite(engine):
            async with engine.begin() as connection:
                await connection.execute(text("ANALYZE"))
        else:
            tables = "article, article_topic, quote, reference, related_link, article_revision"
            async with engine.connect() as connection:  # VACUUM cannot run in a transaction
                autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
                await autocommit.execute(text(f"VACUUM (ANALYZE) {tables}"))
    except Exception as error:
        _log.warning("statistics not refreshed after a large write: %s", error)
        return False
    return True
