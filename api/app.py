"""create_app(settings) -> the Starlette application: its routes, middleware and lifespan.

The GraphQL engine (document cache, cost model, limits, executor) is made once per app; the
worker's services (database engine, caches, limiter, outbox follower, webhook deliverer) are
opened by the lifespan (`api/services.py`); `/graphql` is answered by `api/endpoint.py`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from api import graphiql, site
from api.cost import CostModel
from api.documents import DocumentCache
from api.endpoint import GraphQLEndpoint
from api.executor import Executor
from api.graphql.cache_tags import TAGGING
from api.graphql.schema import schema
from api.http import Engine
from api.limits import Limits
from api.persisted import load_manifest
from api.services import running_services, services_of
from api.settings import ApiSettings

log = logging.getLogger("healthcontent.app")


def create_app(settings: ApiSettings | None = None) -> Starlette:
    settings = settings or ApiSettings()
    engine = graphql_engine(settings)
    endpoint = GraphQLEndpoint(settings, engine)
    # Read at start: a manifest that is missing or stale stops the service from starting.
    trusted = load_manifest(settings.trusted_documents) if settings.trusted_documents else None

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with running_services(settings, schema=engine.schema, trusted=trusted) as services:
            app.state.services = services
            try:
                yield
            finally:
                await endpoint.drain()

    async def graphiql_asset(request: Request) -> Response:
        if not settings.graphiql:
            return Response(status_code=404)
        return graphiql.asset(request.path_params["name"])

    async def readyz(request: Request) -> Response:
        return await _readiness(request, settings)

    app = Starlette(
        middleware=_middleware(settings),
        routes=[
            Route("/graphql", endpoint.answer, methods=["GET", "HEAD", "POST"], name="graphql"),
            Route("/graphql", endpoint.preflight, methods=["OPTIONS"], name="graphql_preflight"),
            Route("/graphiql/{name}", graphiql_asset, methods=["GET"]),
            Route("/healthz", _liveness, methods=["GET"], name="healthz"),
            Route("/readyz", readyz, methods=["GET"]),
            *site.routes(settings, engine),
        ],
        lifespan=lifespan,
    )
    app.state.executor = engine.executor  # its counters: how many queries fell back
    return app


def graphql_engine(settings: ApiSettings) -> Engine:
    """Everything that turns a document into an answer, made once: shared by `/graphql` and
    the site's pages."""
    graphql_schema = schema.graphql_schema
    limits = Limits(
        chars=settings.max_query_bytes,
        tokens=settings.max_query_tokens,
        depth=settings.max_query_depth,
        aliases=settings.max_query_aliases,
        directives=settings.max_query_directives,
        variable_values=settings.max_variable_values,
    )
    return Engine(
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


def _middleware(settings: ApiSettings) -> list[Middleware]:
    if not settings.forwarded_allow_ips:
        return []
    # Only these proxies may say who the client is (for rate limits and logs alike).
    return [Middleware(ProxyHeadersMiddleware, trusted_hosts=settings.forwarded_allow_ips)]


async def _liveness(request: Request) -> Response:
    """/healthz: the process answers."""
    return JSONResponse({"status": "ok"})


async def _readiness(request: Request, settings: ApiSettings) -> Response:
    """/readyz: the database answers, within the connect timeout (a hung one is a prompt 503)."""
    try:
        async with asyncio.timeout(settings.db_connect_timeout_ms / 1000):
            async with services_of(request.app).engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
    except Exception as exc:  # the database not answering is the one thing this reports
        log.warning("readiness check failed: %r", exc)
        return JSONResponse({"status": "unavailable", "database": "down"}, status_code=503)
    return JSONResponse({"status": "ok", "database": "up"})
