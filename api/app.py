"""create_app(settings) -> the Starlette application. Its lifespan owns the database engine."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api import cors, graphiql
from api.access import Caller, Unauthenticated, client_address, identify
from api.context import RequestContext, count_statements
from api.graphql.schema import schema
from api.http import DocumentCache, handle, new_request_id
from api.ratelimit import Limiter, Verdict, create_limiter
from api.settings import ApiSettings
from schema.db import create_engine, is_sqlite, open_session, session_factory
from schema.keys import live_origins

log = logging.getLogger("healthcontent.app")


def _statement_timeout(settings: ApiSettings) -> dict[str, Any]:
    """PostgreSQL cancels any statement of the API that runs longer than this."""
    if is_sqlite(settings.database_url):
        return {}
    timeout_ms = str(settings.statement_timeout_ms)
    return {"connect_args": {"server_settings": {"statement_timeout": timeout_ms}}}


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


def create_app(settings: ApiSettings | None = None) -> Starlette:
    settings = settings or ApiSettings()
    graphql_schema = schema.graphql_schema
    documents = DocumentCache(graphql_schema, settings.document_cache_size)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        engine = create_engine(
            settings.database_url,
            pool_size=settings.db_pool_size,
            max_overflow=0,
            # SQLite reads run in autocommit (writes commit or roll back themselves), so a
            # rollback when a connection returns to the pool is a wasted thread round-trip.
            pool_reset_on_return=None if is_sqlite(settings.database_url) else "rollback",
            **_statement_timeout(settings),
        )
        count_statements(engine)
        app.state.engine = engine
        app.state.sessions = session_factory(engine)
        app.state.limiter = create_limiter(settings.redis_url)
        try:
            yield
        finally:
            await app.state.limiter.close()
            await engine.dispose()

    async def graphql(request: Request) -> Response:
        if settings.graphiql and graphiql.wants_graphiql(request):
            return graphiql.page(settings.graphiql_assets_dir)
        request_id = request.headers.get("x-request-id") or new_request_id()
        state = request.app.state
        context = RequestContext(
            settings=settings,
            engine=state.engine,
            sessions=state.sessions,
            request_id=request_id,
        )
        origin = request.headers.get("origin")
        try:
            try:
                response = await _answer(request, context, state.limiter)
            finally:
                await context.close()
        except Exception:
            log.exception("request %s failed", request_id)
            response = _error(500, "Internal server error", extensions={"requestId": request_id})
        key_origins = context.caller.key.origins if context.caller.key else ()
        cors.add_headers(
            response,
            origin,
            origin is not None and cors.is_allowed(origin, settings.cors_origins, key_origins),
        )
        response.headers["x-request-id"] = request_id
        return response

    async def _answer(request: Request, context: RequestContext, limiter: Limiter) -> Response:
        """Who is calling, whether they are within their limit, then the GraphQL answer."""
        try:
            async with context.session() as session:
                context.caller = await identify(request, session)
            failure = None
        except Unauthenticated as exc:
            context.caller = Caller(None, client_address(request))
            failure = _error(
                401,
                str(exc),
                code="UNAUTHENTICATED",
                headers={"www-authenticate": 'Bearer error="invalid_token"'},
            )
        verdict = await _check_rate(context.caller, limiter)
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
            response = await handle(
                request, schema=graphql_schema, documents=documents, context=context
            )
        if verdict is not None:
            response.headers.update(verdict.headers())
        return response

    async def _check_rate(caller: Caller, limiter: Limiter) -> Verdict | None:
        if caller.key is not None:
            limit = caller.key.rate_per_minute or settings.rate_limit_key
            bucket = f"key:{caller.key.id}"
        else:
            limit, bucket = settings.rate_limit_anonymous, f"address:{caller.address}"
        if limit <= 0:
            return None
        return await limiter.hit(bucket, limit)

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
        return graphiql.asset(request.path_params["name"], settings.graphiql_assets_dir)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        try:
            async with request.app.state.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception as exc:  # the database not answering is the one thing this reports
            log.warning("readiness check failed: %s", exc)
            return JSONResponse({"status": "unavailable", "database": "down"}, status_code=503)
        return JSONResponse({"status": "ok", "database": "up"})

    return Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "HEAD", "POST"]),
            Route("/graphql", graphql_preflight, methods=["OPTIONS"]),
            Route("/graphiql/{name}", graphiql_asset, methods=["GET"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
