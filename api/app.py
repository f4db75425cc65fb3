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

from api import graphiql
from api.context import RequestContext, count_statements
from api.graphql.schema import schema
from api.http import DocumentCache, handle, new_request_id
from api.settings import ApiSettings
from schema.db import create_engine, is_sqlite, session_factory

log = logging.getLogger("healthcontent.app")


def _statement_timeout(settings: ApiSettings) -> dict[str, Any]:
    """PostgreSQL cancels any statement of the API that runs longer than this."""
    if is_sqlite(settings.database_url):
        return {}
    timeout_ms = str(settings.statement_timeout_ms)
    return {"connect_args": {"server_settings": {"statement_timeout": timeout_ms}}}


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
        try:
            yield
        finally:
            await engine.dispose()

    async def graphql(request: Request) -> Response:
        if settings.graphiql and graphiql.wants_graphiql(request):
            return graphiql.page(settings.graphiql_assets_dir)
        request_id = request.headers.get("x-request-id") or new_request_id()
        context = RequestContext(
            settings=settings, sessions=request.app.state.sessions, request_id=request_id
        )
        try:
            try:
                response = await handle(
                    request, schema=graphql_schema, documents=documents, context=context
                )
            finally:
                await context.close()
        except Exception:
            log.exception("request %s failed", request_id)
            response = JSONResponse(
                {
                    "errors": [
                        {
                            "message": "Internal server error",
                            "extensions": {"requestId": request_id},
                        }
                    ]
                },
                status_code=500,
            )
        response.headers["x-request-id"] = request_id
        return response

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
            Route("/graphiql/{name}", graphiql_asset, methods=["GET"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
