"""Per-request context: how resolvers reach the database, the request's loaders, its stats,
and the tasks and connections it uses (so that a deadline or a disconnect can stop them)."""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from graphql import GraphQLResolveInfo
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from api.access import Caller
from api.graphql.loaders import Loaders
from api.settings import ApiSettings
from schema.db import interrupt

T = TypeVar("T")


@dataclass
class QueryStats:
    sql_statements: int = 0
    started: float = field(default_factory=time.perf_counter)

    def as_extension(self) -> dict[str, Any]:
        elapsed = (time.perf_counter() - self.started) * 1000
        return {"sqlStatements": self.sql_statements, "durationMs": round(elapsed, 2)}


# The request a task works for. Loaders' tasks inherit it (tasks copy their creator's
# context), so database events can be put down to the request that caused them.
_current: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar(
    "request_context", default=None
)


def watch_engine(engine: AsyncEngine) -> None:
    """Count each SQL statement against the request that runs it, and know which
    connections each request has checked out."""

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _count(*_: Any) -> None:
        context = _current.get()
        if context is not None:
            context.stats.sql_statements += 1

    @event.listens_for(engine.sync_engine, "checkout")
    def _checkout(_dbapi: Any, record: Any, _proxy: Any) -> None:
        context = _current.get()
        if context is not None:
            record.info["request"] = context
            # Kept: at check-in an invalidated record no longer has its driver connection.
            record.info["driver"] = record.driver_connection
            context.connections.add(record.driver_connection)

    @event.listens_for(engine.sync_engine, "checkin")
    def _checkin(_dbapi: Any, record: Any) -> None:
        context = record.info.pop("request", None)
        driver = record.info.pop("driver", None)
        if context is not None:
            context.connections.discard(driver)


@dataclass
class BodyClock:
    """When the request body was being read: that time is the client's, not the request's
    (a long article uploaded slowly must not use up the deadline)."""

    started: float | None = None
    ended: float | None = None

    def seconds(self) -> float:
        if self.started is None:
            return 0.0
        return (self.ended if self.ended is not None else time.monotonic()) - self.started


@dataclass
class RequestContext:
    """What every resolver gets as `info.context`."""

    settings: ApiSettings
    engine: AsyncEngine  # mutations open their own writing transactions on it
    sessions: async_sessionmaker[AsyncSession]
    request_id: str
    caller: Caller = field(default_factory=lambda: Caller(None, "unknown"))
    stats: QueryStats = field(default_factory=QueryStats)
    body: BodyClock = field(default_factory=BodyClock)
    connections: set[Any] = field(default_factory=set)  # driver connections checked out
    _loaders: Loaders | None = None
    _session: AsyncSession | None = None
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _closed: bool = False
    _users: set[asyncio.Task[Any]] = field(default_factory=set)  # tasks using the session
    _stopped: set[asyncio.Task[Any]] = field(default_factory=set)  # cancelled by stop()

    def __post_init__(self) -> None:
        _current.set(self)

    @property
    def loaders(self) -> Loaders:
        if self._loaders is None:
            self._loaders = Loaders(self)
        return self._loaders

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """The request's one session, lent to one task at a time.

        Concurrent resolvers and loader batches take turns (an AsyncSession must never be used
        by two tasks at once); one session per request instead of one per batch saves a
        connection checkout, a check-in and their round-trips for every batch.
        """
        task = asyncio.current_task()
        assert task is not None
        self._users.add(task)
        try:
            async with self._lock:
                if self._closed:
                    # graphql-core lets sibling resolvers run on after a failed field has
                    # already ended the response; they must not open a session nobody closes.
                    raise RequestFinished(self.request_id)
                if self._session is None:
                    self._session = self.sessions()
                yield self._session
        except asyncio.CancelledError:
            if task not in self._stopped:
                raise
            # Stopped by `stop`: end as an ordinary error, so that what waits on this task
            # hears of it (graphene's loaders only pass on Exceptions to the resolvers
            # awaiting a batch; a cancelled batch would leave them waiting for ever).
            task.uncancel()
            raise RequestFinished(self.request_id) from None
        finally:
            self._users.discard(task)

    async def read(self, fetch: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """`fetch(session)` in the request's session; once more, on a new connection, if the
        connection turned out dead (the server restarted or failed over since it was last
        checked: it is checked only after `IDLE_PING_S` idle). Reads only: safe to repeat."""
        for attempt in (1, 2):
            async with self.session() as session:
                try:
                    return await fetch(session)
                except DBAPIError as error:
                    if not error.connection_invalidated:
                        raise
                    # Give the dead connection up, so that no later read of this request
                    # finds the session broken, whether or not this one is tried again.
                    await session.close()
                    self._session = None
                    if attempt == 2:
                        raise
        raise AssertionError("unreachable")

    async def release(self) -> None:
        """Give the connection back to the pool now (the session reopens if used again).

        A mutation does this before it waits for a writing connection: a request holding
        one connection while waiting for another would deadlock a full pool.
        """
        async with self._lock:
            if self._session is not None:
                await self._session.close()
                self._session = None

    def snapshot(self) -> Callable[[], None]:
        """How to put back what a run of the operation counts (for the executor's
        differential check, whose second run must leave no trace)."""
        statements = self.stats.sql_statements

        def put_back() -> None:
            self.stats.sql_statements = statements

        return put_back

    def forget_loaded(self) -> None:
        """After a write: later reads in this request must not see what loaders cached."""
        self._loaders = None

    async def close(self) -> None:
        """End the request: stop what still runs for it (resolvers graphql-core leaves running
        after a failed field, loader batches of a client that left), give the connection
        back, and refuse any later use."""
        self._closed = True
        if self._users:
            await self.stop()
        async with self._lock:
            if self._session is not None:
                await self._session.close()
                self._session = None

    async def stop(self, *also: asyncio.Task[Any]) -> None:
        """Stop the request's work now (its deadline passed, its client left, or its answer
        is out while some resolvers still run): no new session, statements running on its
        connections interrupted, the tasks using its session (and `also`) cancelled. `close`
        then gives the connections back."""
        self._closed = True
        for connection in list(self.connections):
            await interrupt(connection)
        # Once each: a second cancel while SQLAlchemy closes a connection it could not trust
        # after the first makes it abandon the close half-way.
        for task in (self._users | set(also)) - self._stopped:
            task.cancel()
            self._stopped.add(task)


class RequestFinished(RuntimeError):
    """A resolver still running after its request was answered."""


def context_of(info: GraphQLResolveInfo) -> RequestContext:
    """The request's context, typed, as a resolver sees it (`info.context`)."""
    context: RequestContext = info.context
    return context
