"""create_app(settings) -> the Starlette application. Its lifespan owns the database engine.

Every /graphql request runs under a deadline (REQUEST_TIMEOUT_MS): when it passes, the
request's work is stopped and cancelled, the client is answered at once, and its connection
goes back to the pool as soon as the cancelled work has unwound.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any

from graphql import print_schema
from sqlalchemy import text
from sqlalchemy.engine import make_url
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from api import cors, graphiql, site
from api.access import Caller, Unauthenticated, bearer_token, client_address, identify
from api.cdn import CdnPurger
from api.context import RequestContext, watch_engine
from api.cost import CostModel
from api.disconnect import ClientDisconnected
from api.documents import DocumentCache
from api.executor import Executor
from api.graphql.cache_tags import TAGGING
from api.graphql.schema import schema
from api.http import (
    Engine,
    RequestError,
    Unavailable,
    handle,
    new_request_id,
    response_media_type,
    shareable,
    unavailable,
)
from api.limits import Limits
from api.outbox import OutboxFollower
from api.persisted import PersistedQueries, load_manifest
from api.ratelimit import Limiter, Verdict, bucket, check_rate, create_limiter
from api.response_cache import ResponseCache
from api.settings import ApiSettings
from api.shared_cache import SharedCache, code_version, fingerprint
from api.webhooks.deliverer import Deliverer
from schema.db import (
    create_engine,
    dispose,
    is_sqlite,
    normalise_database_url,
    open_session,
    read_sessions,
)
from schema.keys import live_origins

log = logging.getLogger("healthcontent.app")

# How long the webhook deliverer waits for SQLite's write lock (a long load holds it) before
# it tries again at its next poll.
WEBHOOKS_LOCK_WAIT_MS = 2000


def _server_settings(settings: ApiSettings) -> dict[str, Any]:
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


def _error(
    status: int,
    message: str,
    *,
    code: str | None = None,
    extensions: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """A GraphQL-shaped error answered before any GraphQL runs (401, 429, 500)."""
    extensions = {**({"code": code} if code else {}), **(extensions or {})}
    error: dict[str, Any] = {"message": message}
    if extensions:
        error["extensions"] = extensions
    return JSONResponse(
        {"errors": [error]},
        status_code=status,
        headers={"cache-control": "no-store", **(headers or {})},
    )


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


def create_app(settings: ApiSettings | None = None) -> Starlette:
    settings = settings or ApiSettings()
    graphql_schema = schema.graphql_schema
    limits = Limits(
        chars=settings.max_query_bytes,
        tokens=settings.max_query_tokens,
        depth=settings.max_query_depth,
        aliases=settings.max_query_aliases,
        directives=settings.max_query_directives,
        variable_values=settings.max_variable_values,
    )
    engine_parts = Engine(
        schema=graphql_schema,
        documents=DocumentCache(
            graphql_schema,
            size=settings.document_cache_size,
            limits=limits,
            introspection=settings.introspection,
        ),
        costs=CostModel(graphql_schema),
        limits=limits,
        executor=Executor(
            graphql_schema,
            hide_suggestions=not settings.introspection,
            check=settings.executor_check,
            tagging=TAGGING,
        ),
    )
    # Read at start: a manifest that is missing or stale stops the service from starting.
    trusted = load_manifest(settings.trusted_documents) if settings.trusted_documents else None
    deadline = settings.request_timeout_ms / 1000
    cleanups: set[asyncio.Task[None]] = set()  # stopped requests still unwinding

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        sqlite = is_sqlite(settings.database_url)
        engine = create_engine(
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
            **_server_settings(settings),
        )
        watch_engine(engine)
        freeze_startup_objects()
        app.state.engine = engine
        app.state.sessions = read_sessions(engine)
        app.state.limiter = create_limiter(settings.redis_url, settings.redis_prefix)
        app.state.persisted = PersistedQueries(
            trusted=trusted, redis_url=settings.redis_url, prefix=settings.redis_prefix
        )
        app.state.response_cache = (
            ResponseCache(
                max_bytes=settings.response_cache_bytes, ttl_s=settings.response_cache_ttl_s
            )
            if settings.response_cache
            else None
        )
        app.state.follower = app.state.purger = app.state.shared_cache = None
        if app.state.response_cache is not None and settings.redis_url:
            app.state.shared_cache = SharedCache(
                settings.redis_url,
                settings.redis_prefix,
                fingerprint(
                    code_version(),
                    print_schema(graphql_schema),
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
                ),
            )
        if settings.cdn_purge_url:
            app.state.purger = CdnPurger(settings.cdn_purge_url, settings.cdn_purge_headers)
            await app.state.purger.start()
        follower_engine = None
        if app.state.response_cache is not None or app.state.purger is not None:
            # A connection of its own: a pool full of requests never delays invalidation.
            follower_engine = create_engine(
                settings.database_url,
                pool_size=1,
                max_overflow=0,
                connect_timeout_ms=settings.db_connect_timeout_ms,
                **_server_settings(settings),
            )
            app.state.follower = OutboxFollower(
                follower_engine,
                app.state.response_cache,
                interval_s=settings.change_poll_ms / 1000,
                listeners=(app.state.purger,) if app.state.purger is not None else (),
            )
            await app.state.follower.poll()  # where to start, before any answer is cached
            await app.state.follower.start()
        app.state.deliverer = None
        if settings.webhooks:
            # A pool of its own: busy requests never hold deliveries up, nor they requests.
            app.state.deliverer = Deliverer.from_settings(
                create_engine(
                    settings.database_url,
                    pool_size=2,
                    max_overflow=0,
                    connect_timeout_ms=settings.db_connect_timeout_ms,
                    lock_wait_ms=WEBHOOKS_LOCK_WAIT_MS,
                    **_server_settings(settings),
                ),
                settings,
            )
            await app.state.deliverer.start()
        try:
            yield
        finally:
            for task in list(cleanups):
                with suppress(Exception):
                    await task
            await app.state.limiter.close()
            await app.state.persisted.close()
            if app.state.follower is not None:
                await app.state.follower.stop()
            if app.state.purger is not None:
                await app.state.purger.stop()
            if app.state.deliverer is not None:
                await app.state.deliverer.stop()
                await dispose(app.state.deliverer.engine)
            if app.state.shared_cache is not None:
                await app.state.shared_cache.close()
            if follower_engine is not None:
                await dispose(follower_engine)
            await dispose(engine)

    async def graphql(request: Request) -> Response:
        if settings.graphiql and graphiql.wants_graphiql(request):
            return graphiql.page()
        request_id = request.headers.get("x-request-id") or new_request_id()
        state = request.app.state
        if state.response_cache is not None and request.method in ("GET", "HEAD"):
            hit = await _repeat(request, state.response_cache, state.limiter)
            if hit is not None:
                hit.headers["x-request-id"] = request_id
                return hit
        context = RequestContext(
            settings=settings,
            engine=state.engine,
            sessions=state.sessions,
            request_id=request_id,
        )
        origin = request.headers.get("origin")
        work = asyncio.create_task(_answer(request, context, state.limiter))
        started = time.monotonic()
        try:
            while not work.done():
                # The deadline moves on by the time the client took to send the body.
                left = started + deadline + context.body.seconds() - time.monotonic()
                if left <= 0:
                    break
                await asyncio.wait({work}, timeout=left)
        except asyncio.CancelledError:  # the server is shutting down: take the work along
            await _stop(work, context)
            raise
        if not work.done():
            # Answer now; the stopped work unwinds (and gives its connection back) behind.
            await _stop(work, context)
            log.warning("request %s passed its deadline and was stopped", request_id)
            response = _error(
                503,
                f"the request took longer than {settings.request_timeout_ms} ms "
                "(REQUEST_TIMEOUT_MS) and was stopped",
                code="REQUEST_TIMEOUT",
            )
        else:
            try:
                try:
                    response = work.result()
                finally:
                    await context.close()
            except (ClientDisconnected, ClientDisconnect):
                log.info("request %s: the client left; its work was cancelled", request_id)
                return Response(status_code=499)  # nobody is there to read it
            except Exception as exc:
                response = _failure(exc, context)
        key_origins = context.caller.key.origins if context.caller.key else ()
        cors.add_headers(
            response,
            origin,
            origin is not None and cors.is_allowed(origin, settings.cors_origins, key_origins),
        )
        response.headers["x-request-id"] = request_id
        return response

    async def _repeat(request: Request, cache: ResponseCache, limiter: Limiter) -> Response | None:
        """An anonymous GET answered before, byte for byte: its cached answer, before any
        parsing, session or task (None: take the full path). Its rate limit still counts; a
        hit spends no cost budget."""
        if settings.query_stats or "authorization" in request.headers:
            return None
        try:
            media_type = response_media_type(request)
        except RequestError:
            return None
        entry = cache.by_alias((request.scope["query_string"], media_type))
        if entry is None:
            return None
        verdict = await check_rate(Caller(None, client_address(request)), limiter, settings)
        if verdict is not None and not verdict.allowed:
            return None  # the full path words the 429
        response = shareable(
            request, entry.content, entry.etag, media_type, settings, entry.headers
        )
        if verdict is not None:
            response.headers.update(verdict.headers())
        origin = request.headers.get("origin")
        cors.add_headers(
            response,
            origin,
            origin is not None and cors.is_allowed(origin, settings.cors_origins, ()),
        )
        return response

    async def _stop(work: asyncio.Task[Response], context: RequestContext) -> None:
        """Stop the work now; it unwinds, and gives its connection back, in a task of its
        own (which shutdown waits for)."""
        await context.stop(work)
        cleanup = asyncio.create_task(_unwind(work, context))
        cleanups.add(cleanup)
        cleanup.add_done_callback(cleanups.discard)

    async def _unwind(work: asyncio.Task[Response], context: RequestContext) -> None:
        with suppress(BaseException):
            await work
        await context.close()

    def _failure(exc: Exception, context: RequestContext) -> Response:
        refusal = exc if isinstance(exc, Unavailable) else unavailable(exc, context)
        if refusal is not None:
            cause = exc.__cause__ if isinstance(exc, Unavailable) else exc
            log.warning("request %s: %s (%r)", context.request_id, refusal, cause)
            return _error(503, refusal.message, code=refusal.code, headers={"retry-after": "1"})
        log.exception("request %s failed", context.request_id, exc_info=exc)
        return _error(500, "Internal server error", extensions={"requestId": context.request_id})

    async def _answer(request: Request, context: RequestContext, limiter: Limiter) -> Response:
        """Who is calling, whether they are within their limit, then the GraphQL answer."""
        try:
            # Anonymous callers need no session at all (a cache hit then touches no database).
            if bearer_token(request) is None:
                context.caller = Caller(None, client_address(request))
            else:
                context.caller = await context.read(lambda session: identify(request, session))
            failure = None
        except Unauthenticated as exc:
            context.caller = Caller(None, client_address(request))
            failure = _error(
                401,
                str(exc),
                code="UNAUTHENTICATED",
                headers={"www-authenticate": 'Bearer error="invalid_token"'},
            )
        verdict = await check_rate(context.caller, limiter, settings)
        if verdict is not None and not verdict.allowed:
            response = _error(
                429,
                f"rate limit of {verdict.limit} requests a minute reached: "
                f"retry in {verdict.reset} s",
                code="RATE_LIMITED",
            )
        elif failure is not None:
            response = failure
        else:

            async def charge(cost: int) -> Verdict | None:
                return await _spend(context.caller, limiter, cost)

            response = await handle(
                request,
                engine=engine_parts,
                context=context,
                charge=charge,
                persisted=request.app.state.persisted,
                cache=request.app.state.response_cache,
                follower=request.app.state.follower,
                shared_cache=request.app.state.shared_cache,
            )
        if verdict is not None:
            response.headers.update(verdict.headers())
        return response

    async def _spend(caller: Caller, limiter: Limiter, cost: int) -> Verdict | None:
        if caller.key is not None:
            budget = settings.rate_limit_cost_key
            if budget > 0 and caller.key.rate_per_minute and settings.rate_limit_key > 0:
                # A key's own --rate scales its budget alike (never below one query's worth).
                scaled = budget * caller.key.rate_per_minute // settings.rate_limit_key
                budget = max(scaled, settings.max_query_cost)
        elif settings.rate_limit_anonymous <= 0:
            return None  # RATE_LIMIT_ANONYMOUS=0 turns every anonymous limit off
        else:
            budget = settings.rate_limit_cost_anonymous
        if budget <= 0:
            return None
        return await limiter.spend(bucket(caller), cost, budget)

    async def graphql_preflight(request: Request) -> Response:
        if not cors.is_preflight(request):
            return Response(status_code=204, headers={"allow": "GET, HEAD, POST, OPTIONS"})
        origin = request.headers["origin"]
        allowed = cors.is_allowed(origin, settings.cors_origins)
        if not allowed:
            async with open_session(request.app.state.engine) as session:
                allowed = origin in await live_origins(session)
        return cors.preflight(request, allowed)

    async def graphiql_asset(request: Request) -> Response:
        if not settings.graphiql:
            return Response(status_code=404)
        return graphiql.asset(request.path_params["name"])

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        try:
            # Within the connect timeout, so a hung database is a prompt 503.
            async with asyncio.timeout(settings.db_connect_timeout_ms / 1000):
                async with request.app.state.engine.connect() as connection:
                    await connection.execute(text("SELECT 1"))
        except Exception as exc:  # the database not answering is the one thing this reports
            log.warning("readiness check failed: %r", exc)
            return JSONResponse({"status": "unavailable", "database": "down"}, status_code=503)
        return JSONResponse({"status": "ok", "database": "up"})

    middleware = []
    if settings.forwarded_allow_ips:
        # Only these proxies may say who the client is (for rate limits and logs alike).
        middleware.append(
            Middleware(ProxyHeadersMiddleware, trusted_hosts=settings.forwarded_allow_ips)
        )
    app = Starlette(
        middleware=middleware,
        routes=[
            Route("/graphql", graphql, methods=["GET", "HEAD", "POST"]),
            Route("/graphql", graphql_preflight, methods=["OPTIONS"]),
            Route("/graphiql/{name}", graphiql_asset, methods=["GET"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            *site.routes(settings, engine_parts),
        ],
        lifespan=lifespan,
    )
    app.state.executor = engine_parts.executor  # its counters: how many queries fell back
    return app
