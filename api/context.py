"""Per-request context: how resolvers reach the database, the request's loaders, its stats."""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from api.access import Caller
from api.settings import ApiSettings

if TYPE_CHECKING:
    from api.graphql.loaders import Loaders


@dataclass
class QueryStats:
    sql_statements: int = 0
    started: float = field(default_factory=time.perf_counter)

    def as_extension(self) -> dict[str, Any]:
        elapsed = (time.perf_counter() - self.started) * 1000
        return {"sqlStatements": self.sql_statements, "durationMs": round(elapsed, 2)}


_current_stats: contextvars.ContextVar[QueryStats | None] = contextvars.ContextVar(
    "query_stats", default=None
)


def count_statements(engine: AsyncEngine) -> None:
    """Count each SQL statement against the request that runs it (loaders' tasks included:
    they inherit the request's context)."""

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _count(*_: Any) -> None:
        stats = _current_stats.get()
        if stats is not None:
            stats.sql_statements += 1


@dataclass
class RequestContext:
    """What every resolver gets as `info.context`."""

    settings: ApiSettings
    engine: AsyncEngine  # mutations open their own writing transactions on it
    sessions: async_sessionmaker[AsyncSession]
    request_id: str
    caller: Caller = field(default_factory=lambda: Caller(None, "unknown"))
    stats: QueryStats = field(default_factory=QueryStats)
    _loaders: Loaders | None = None
    _session: AsyncSession | None = None
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _closed: bool = False

    def __post_init__(self) -> None:
        _current_stats.set(self.stats)

    @property
    def loaders(self) -> Loaders:
        if self._loaders is None:
            from api.graphql.loaders import Loaders

            self._loaders = Loaders(self)
        return self._loaders

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """The request's one session, lent to one task at a time.

        Concurrent resolvers and loader batches take turns (an AsyncSession must never be used
        by two tasks at once); one session per request instead of one per batch saves a
        connection checkout, a check-in and their round-trips for every batch.
        """
        async with self._lock:
            if self._closed:
                # graphql-core lets sibling resolvers run on after a failed field has already
                # ended the response; they must not open a session nobody will close.
                raise RequestFinished(self.request_id)
            if self._session is None:
                self._session = self.sessions()
            yield self._session

    async def release(self) -> None:
        """Give the connection back to the pool now (the session reopens if used again).

        A mutation does this before it waits for a writing connection: a request holding
        one connection while waiting for another would deadlock a full pool.
        """
        async with self._lock:
            if self._session is not None:
                await self._session.close()
                self._session = None

    def forget_loaded(self) -> None:
        """After a write: later reads in this request must not see what loaders cached."""
        self._loaders = None

    async def close(self) -> None:
        """End the request: wait for a batch in flight, give the connection back, and refuse
        any later use."""
        async with self._lock:
            self._closed = True
            if self._session is not None:
                await self._session.close()
                self._session = None


class RequestFinished(RuntimeError):
    """A resolver still running after its request was answered."""
