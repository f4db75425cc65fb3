"""GraphQLEndpoint: the `/graphql` route, from the request to the response.

In order: GraphiQL for a browser that asks for a page; a repeat anonymous GET from the
response cache; then, in a task of its own under the deadline (REQUEST_TIMEOUT_MS), who is
calling (`api/access.py`), their rate limit (`api/ratelimit.py`) and the GraphQL answer
(`api/http.py` `handle`). When the deadline passes, the work is stopped and cancelled, the
client is answered at once, and its connection goes back to the pool as soon as the cancelled
work has unwound. CORS headers go on every answer.
"""

from __future__ import annotations

import asyncio
import logging
import time
from contextlib import suppress

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from api import cors, graphiql
from api.access import Caller, Unauthenticated, bearer_token, client_address, identify
from api.context import RequestContext
from api.disconnect import ClientDisconnected
from api.errors import ErrorCode, error_response
from api.http import Engine, Unavailable, handle, unavailable
from api.http_answer import new_request_id, shareable
from api.http_request import RequestError, response_media_type
from api.ratelimit import Verdict, bucket, check_rate
from api.services import Services, services_of
from api.settings import ApiSettings
from schema.db import open_session
from schema.keys import live_origins

log = logging.getLogger("healthcontent.app")


class GraphQLEndpoint:
    """Answers `/graphql` (GET, HEAD, POST, and OPTIONS for CORS preflights)."""

    def __init__(self, settings: ApiSettings, engine: Engine) -> None:
        self.settings = settings
        self.engine = engine
        self.deadline_s = settings.request_timeout_ms / 1000
        self.unwinding: set[asyncio.Task[None]] = set()  # stopped requests still unwinding

    async def answer(self, request: Request) -> Response:
        """GET, HEAD, POST."""
        settings = self.settings
        if settings.graphiql and graphiql.wants_graphiql(request):
            return graphiql.page()
        request_id = request.headers.get("x-request-id") or new_request_id()
        services = services_of(request.app)
        if services.response_cache is not None and request.method in ("GET", "HEAD"):
            hit = await self._repeat(request, services)
            if hit is not None:
                hit.headers["x-request-id"] = request_id
                return hit
        context = RequestContext(
            settings=settings,
            engine=services.engine,
            sessions=services.sessions,
            request_id=request_id,
        )
        origin = request.headers.get("origin")
        work = asyncio.create_task(self._answer(request, context, services))
        started = time.monotonic()
        try:
            while not work.done():
                # The deadline moves on by the time the client took to send the body.
                left = started + self.deadline_s + context.body.seconds() - time.monotonic()
                if left <= 0:
                    break
                await asyncio.wait({work}, timeout=left)
        except asyncio.CancelledError:  # the server is shutting down: take the work along
            await self._stop(work, context)
            raise
        if not work.done():
            # Answer now; the stopped work unwinds (and gives its connection back) behind.
            await self._stop(work, context)
            log.warning("request %s passed its deadline and was stopped", request_id)
            response = error_response(
                503,
                f"the request took longer than {settings.request_timeout_ms} ms "
                "(REQUEST_TIMEOUT_MS) and was stopped",
                code=ErrorCode.REQUEST_TIMEOUT,
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

    async def preflight(self, request: Request) -> Response:
        """OPTIONS: a CORS preflight's answer (a plain OPTIONS learns the methods)."""
        if not cors.is_preflight(request):
            return Response(status_code=204, headers={"allow": "GET, HEAD, POST, OPTIONS"})
        origin = request.headers["origin"]
        allowed = cors.is_allowed(origin, self.settings.cors_origins)
        if not allowed:
            async with open_session(services_of(request.app).engine) as session:
                allowed = origin in await live_origins(session)
        return cors.preflight(request, allowed)

    async def drain(self) -> None:
        """Wait for stopped requests to finish unwinding (at shutdown)."""
        for task in list(self.unwinding):
            with suppress(Exception):
                await task

    async def _repeat(self, request: Request, services: Services) -> Response | None:
        """An anonymous GET answered before, byte for byte: its cached answer, before any
        parsing, session or task (None: take the full path). Its rate limit still counts; a
        hit spends no cost budget."""
        settings = self.settings
        if settings.query_stats or "authorization" in request.headers:
            return None
        assert services.response_cache is not None
        try:
            media_type = response_media_type(request)
        except RequestError:
            return None
        entry = services.response_cache.by_alias((request.scope["query_string"], media_type))
        if entry is None:
            return None
        caller = Caller(None, client_address(request))
        verdict = await check_rate(caller, services.limiter, settings)
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

    async def _stop(self, work: asyncio.Task[Response], context: RequestContext) -> None:
        """Stop the work now; it unwinds, and gives its connection back, in a task of its
        own (which shutdown waits for)."""
        await context.stop(work)
        cleanup = asyncio.create_task(_unwind(work, context))
        self.unwinding.add(cleanup)
        cleanup.add_done_callback(self.unwinding.discard)

    async def _answer(
        self, request: Request, context: RequestContext, services: Services
    ) -> Response:
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
            failure = error_response(
                401,
                str(exc),
                code=ErrorCode.UNAUTHENTICATED,
                headers={"www-authenticate": 'Bearer error="invalid_token"'},
            )
        verdict = await check_rate(context.caller, services.limiter, self.settings)
        if verdict is not None and not verdict.allowed:
            response = error_response(
                429,
                f"rate limit of {verdict.limit} requests a minute reached: "
                f"retry in {verdict.reset} s",
                code=ErrorCode.RATE_LIMITED,
            )
        elif failure is not None:
            response = failure
        else:

            async def charge(cost: int) -> Verdict | None:
                return await self._spend(context.caller, services, cost)

            response = await handle(
                request,
                engine=self.engine,
                context=context,
                charge=charge,
                persisted=services.persisted,
                cache=services.response_cache,
                follower=services.follower,
                shared_cache=services.shared_cache,
            )
        if verdict is not None:
            response.headers.update(verdict.headers())
        return response

    async def _spend(self, caller: Caller, services: Services, cost: int) -> Verdict | None:
        """Charge a query's cost to the caller's budget a minute (None: no budget applies)."""
        settings = self.settings
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
        return await services.limiter.spend(bucket(caller), cost, budget)


async def _unwind(work: asyncio.Task[Response], context: RequestContext) -> None:
    with suppress(BaseException):
        await work
    await context.close()


def _failure(exc: Exception, context: RequestContext) -> Response:
    """503 for a database or service that is down (retry soon), 500 for anything else."""
    refusal = exc if isinstance(exc, Unavailable) else unavailable(exc, context)
    if refusal is not None:
        cause = exc.__cause__ if isinstance(exc, Unavailable) else exc
        log.warning("request %s: %s (%r)", context.request_id, refusal, cause)
        return error_response(503, refusal.message, code=refusal.code, headers={"retry-after": "1"})
    log.exception("request %s failed", context.request_id, exc_info=exc)
    return error_response(
        500, "Internal server error", extensions={"requestId": context.request_id}
    )
