"""Services: what each worker opens at start and closes at exit (the app's lifespan).

The database engine and its read sessions, the rate limiter, persisted queries, the response
cache and its Redis tier, the CDN purger, the outbox follower and the webhook deliverer. Each
one opened is closed again, in reverse order, even when a later one fails to start.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

from graphql import GraphQLSchema, print_schema
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.applications import Starlette

from api.cdn import CdnPurger
from api.context import watch_engine
from api.outbox import OutboxFollower
from api.persisted import PersistedQueries
from api.ratelimit import Limiter, create_limiter
from api.response_cache import ResponseCache
from api.settings import ApiSettings
from api.shared_cache import SharedCache, code_version, fingerprint
from api.webhooks.deliverer import Deliverer
from schema.db import create_engine, dispose, is_sqlite, read_sessions
from schema.settings import normalise_database_url

# How long the webhook deliverer waits for SQLite's write lock (a long load holds it) before
# it tries again at its next poll.
WEBHOOKS_LOCK_WAIT_MS = 2000


@dataclass(frozen=True)
class Services:
    """One worker's long-lived resources, shared by its requests."""

    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    limiter: Limiter
    persisted: PersistedQueries
    response_cache: ResponseCache | None
    shared_cache: SharedCache | None
    purger: CdnPurger | None
    follower: OutboxFollower | None
    deliverer: Deliverer | None


def services_of(app: Starlette) -> Services:
    """The services of this worker's app (`request.app`)."""
    services: Services = app.state.services
    return services


def server_settings(settings: ApiSettings) -> dict[str, Any]:
    """PostgreSQL cancels any statement of the API that runs longer than its timeout, and
    stops a statement whose connection is gone (a stopped request's connection is closed,
    not reused) within half a second, even while it waits for a lock."""
    if is_sqlite(settings.database_url):
        return {}
    server_settings = {
        "statement_timeout": str(settings.statement_timeout_ms),
        "client_connection_check_interval": "500",
    }
    return {"connect_args": {"server_settings": server_settings}}


_frozen = False


def freeze_startup_objects() -> None:
    """Move everything start-up made (modules, the schema, settings: long-lived, and most of the
    heap) out of the cyclic collector's reach, so collections scan only what requests make.
    Once per process: a later app (tests make many) would freeze its predecessors' garbage."""
    global _frozen
    if not _frozen:
        _frozen = True
        gc.collect()
        gc.freeze()


@asynccontextmanager
async def running_services(
    settings: ApiSettings, *, schema: GraphQLSchema, trusted: dict[str, str] | None
) -> AsyncIterator[Services]:
    """Open the worker's services; close every one of them on the way out."""
    async with AsyncExitStack() as stack:
        engine = _request_engine(settings)
        stack.push_async_callback(dispose, engine)
        watch_engine(engine)
        freeze_startup_objects()
        limiter = create_limiter(settings.redis_url, settings.redis_prefix)
        stack.push_async_callback(limiter.close)
        persisted = PersistedQueries(
            trusted=trusted, redis_url=settings.redis_url, prefix=settings.redis_prefix
        )
        stack.push_async_callback(persisted.close)
        response_cache = (
            ResponseCache(
                max_bytes=settings.response_cache_bytes, ttl_s=settings.response_cache_ttl_s
            )
            if settings.response_cache
            else None
        )
        shared_cache = None
        if response_cache is not None and settings.redis_url:
            shared_cache = SharedCache(
                settings.redis_url, settings.redis_prefix, _answers_fingerprint(settings, schema)
            )
            stack.push_async_callback(shared_cache.close)
        purger = None
        if settings.cdn_purge_url:
            purger = CdnPurger(settings.cdn_purge_url, settings.cdn_purge_headers)
            await purger.start()
            stack.push_async_callback(purger.stop)
        follower = None
        if response_cache is not None or purger is not None:
            follower = await _start_follower(settings, stack, response_cache, purger)
        deliverer = None
        if settings.webhooks:
            deliverer = await _start_deliverer(settings, stack)
        yield Services(
            engine=engine,
            sessions=read_sessions(engine),
            limiter=limiter,
            persisted=persisted,
            response_cache=response_cache,
            shared_cache=shared_cache,
            purger=purger,
            follower=follower,
            deliverer=deliverer,
        )


def _request_engine(settings: ApiSettings) -> AsyncEngine:
    """The pool requests read and write through."""
    sqlite = is_sqlite(settings.database_url)
    return create_engine(
        settings.database_url,
        pool_size=settings.db_pool_size,
        max_overflow=0,
        pool_timeout=settings.db_pool_timeout_ms / 1000,
        connect_timeout_ms=settings.db_connect_timeout_ms,
        # An edit waits for another writer's lock no longer than a request may last.
        lock_wait_ms=settings.request_timeout_ms,
        # SQLite reads run in autocommit (writes commit or roll back themselves), so a
        # rollback when a connection returns to the pool is a wasted thread round-trip.
        pool_reset_on_return=None if sqlite else "rollback",
        **server_settings(settings),
    )


def _answers_fingerprint(settings: ApiSettings, schema: GraphQLSchema) -> str:
    """What answers shared in Redis depend on besides the data: workers that differ in any of
    it never read each other's answers."""
    return fingerprint(
        code_version(),
        print_schema(schema),
        settings.site_url,
        settings.publisher_name,
        str(settings.max_query_cost),
        repr(
            (
                settings.license_name,
                settings.license_url,
                settings.attribution_text,
                settings.attribution_html,
            )
        ),
        make_url(normalise_database_url(settings.database_url)).render_as_string(),
    )


async def _start_follower(
    settings: ApiSettings,
    stack: AsyncExitStack,
    response_cache: ResponseCache | None,
    purger: CdnPurger | None,
) -> OutboxFollower:
    """The outbox follower, on a connection of its own: a pool full of requests never delays
    invalidation."""
    engine = create_engine(
        settings.database_url,
        pool_size=1,
        max_overflow=0,
        connect_timeout_ms=settings.db_connect_timeout_ms,
        **server_settings(settings),
    )
    stack.push_async_callback(dispose, engine)
    follower = OutboxFollower(
        engine,
        response_cache,
        interval_s=settings.change_poll_ms / 1000,
        listeners=(purger,) if purger is not None else (),
    )
    await follower.poll()  # where to start, before any answer is cached
    await follower.start()
    stack.push_async_callback(follower.stop)
    return follower


async def _start_deliverer(settings: ApiSettings, stack: AsyncExitStack) -> Deliverer:
    """The webhook deliverer, with a pool of its own: busy requests never hold deliveries up,
    nor they requests."""
    engine = create_engine(
        settings.database_url,
        pool_size=2,
        max_overflow=0,
        connect_timeout_ms=settings.db_connect_timeout_ms,
        lock_wait_ms=WEBHOOKS_LOCK_WAIT_MS,
        **server_settings(settings),
    )
    stack.push_async_callback(dispose, engine)
    deliverer = Deliverer.from_settings(engine, settings)
    await deliverer.start()
    stack.push_async_callback(deliverer.stop)
    return deliverer
