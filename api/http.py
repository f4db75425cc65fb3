"""GraphQL over HTTP (https://graphql.github.io/graphql-over-http/): parse, validate, execute.

`handle` answers one request: read (api/http_request.py), the document found and checked
(limits, validation, cost), the response cache asked, the cost budget spent, executed, and
sent (api/http_answer.py). Results carry `errors` only when there are some; unexpected errors
are logged and masked; a database that cannot be reached is a 503.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLError,
    GraphQLFormattedError,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
)
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError
from starlette.requests import Request
from starlette.responses import Response

from api.context import RequestContext, RequestFinished
from api.cost import CostModel, Uncountable
from api.disconnect import cancelled_on_disconnect
from api.documents import DocumentCache, Prepared
from api.errors import ErrorCode
from api.executor import Executor
from api.http_answer import (
    alias_request,
    cached_entry,
    etag_of,
    send,
    uncacheable,
    with_stats,
)
from api.http_request import (
    GRAPHQL_RESPONSE,
    JSON,
    GraphQLRequest,
    RequestError,
    read_request,
    response_media_type,
)
from api.limits import Limits, limit_error, refuse_variables
from api.outbox import OutboxFollower
from api.persisted import PersistedQueries, PersistedQueryError
from api.ratelimit import Verdict
from api.reads import Reads
from api.response_cache import ResponseCache, cache_key, surrogate_headers
from api.shared_cache import SharedCache
from schema.db import is_unavailable
from schema.keys import Scope

log = logging.getLogger("healthcontent.http")


class Unavailable(Exception):
    """The database cannot serve the request: answered with 503 and a plain message."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def unavailable(error: BaseException, context: RequestContext) -> Unavailable | None:
    """What to tell the client when `error` means the database cannot serve it now."""
    settings = context.settings
    if isinstance(error, SQLAlchemyTimeoutError):
        return Unavailable(
            ErrorCode.SERVICE_UNAVAILABLE,
            f"no database connection came free within {settings.db_pool_timeout_ms} ms "
            "(DB_POOL_TIMEOUT_MS): the service is overloaded; retry shortly",
        )
    if is_unavailable(error):
        return Unavailable(
            ErrorCode.DATABASE_UNAVAILABLE,
            "the database cannot be reached (it did not answer within "
            f"{settings.db_connect_timeout_ms} ms, DB_CONNECT_TIMEOUT_MS, or refused); retry "
            "shortly",
        )
    return None


def _format_errors(
    errors: list[GraphQLError], context: RequestContext
) -> list[GraphQLFormattedError]:
    """Expected errors as they are; unexpected ones logged and masked. Raises Unavailable
    when an error says the database cannot be reached (the whole answer is a 503)."""
    out = []
    for error in errors:
        original = error.original_error
        if original is not None and not isinstance(original, GraphQLError):
            refusal = unavailable(original, context)
            if refusal is not None:
                raise refusal from original
            log.error(
                "request %s: unexpected error in %s",
                context.request_id,
                ".".join(map(str, error.path or [])),
                exc_info=original,
            )
            formatted = error.formatted
            formatted["message"] = (
                f"Internal server error: {original!r}"
                if context.settings.debug
                else "Internal server error"
            )
            formatted["extensions"] = {
                "code": ErrorCode.INTERNAL_SERVER_ERROR,
                "requestId": context.request_id,
            }
            out.append(formatted)
        else:
            out.append(error.formatted)
    return out


# Spends an operation's cost from its caller's budget: None when the caller has none.
Charge = Callable[[int], Awaitable[Verdict | None]]


@dataclass(frozen=True)
class Engine:
    """What executing GraphQL needs, built once per application."""

    schema: GraphQLSchema
    documents: DocumentCache
    costs: CostModel
    limits: Limits
    executor: Executor


@dataclass(frozen=True)
class Checked:
    """A request's document, found, valid, within the limits, priced and runnable."""

    query: str
    prepared: Prepared
    document: DocumentNode
    operation: OperationDefinitionNode
    cost_extension: dict[str, int]


class Refused(Exception):
    """The request is refused before it runs: these errors, with the request-error status
    (or `status`)."""

    def __init__(
        self, errors: list[Any], status: int | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(errors)
        self.errors, self.status, self.headers = errors, status, headers or {}


async def handle(
    request: Request,
    *,
    engine: Engine,
    context: RequestContext,
    charge: Charge,
    persisted: PersistedQueries,
    cache: ResponseCache | None = None,
    follower: OutboxFollower | None = None,
    shared_cache: SharedCache | None = None,
) -> Response:
    """Answer one GraphQL-over-HTTP request."""
    try:
        media_type = response_media_type(request)
    except RequestError as error:
        return uncacheable(error.body(), error.status, JSON)
    try:
        graphql_request = await read_request(request, context.settings.max_body_bytes, context.body)
    except RequestError as error:
        return uncacheable(error.body(), error.status, media_type, **error.headers)
    # Under application/json, well-formed GraphQL responses are 200 even with request errors
    # (legacy clients read the body); the newer media type uses 4xx for them.
    request_error_status = 400 if media_type == GRAPHQL_RESPONSE else 200
    try:
        checked = await _check(graphql_request, engine, context, persisted)
    except Refused as refusal:
        return uncacheable(
            {"errors": refusal.errors},
            refusal.status or request_error_status,
            media_type,
            **refusal.headers,
        )
    # Answers any caller who sees only published content may share (drafts never enter).
    if (
        cache is not None
        and checked.operation.operation == OperationType.QUERY
        and not context.caller.can(Scope.PREVIEW)
    ):
        shared = Shared(
            cache,
            cache_key(
                checked.query,
                graphql_request.operation_name,
                graphql_request.variables,
                media_type,
            ),
            # Taken before anything is awaited: a change applied meanwhile bumps the
            # generation, and whatever this request computes or fetches is then not kept.
            generation=cache.generation,
            position=follower.position if follower is not None else None,
        )
        entry = await cached_entry(cache, shared.key, shared.generation, follower, shared_cache)
        if entry is not None:  # a hit costs nothing: no budget is spent on it
            alias_request(request, cache, shared.key, media_type, context)
            return send(request, entry.content, entry.etag, media_type, context, entry.headers)
    else:
        shared = None

    verdict = await charge(checked.cost_extension["requestedQueryCost"])
    if verdict is not None and not verdict.allowed:
        setting = "RATE_LIMIT_COST_KEY" if context.caller.key else "RATE_LIMIT_COST_ANONYMOUS"
        message = (
            f"this query costs {checked.cost_extension['requestedQueryCost']}, and only "
            f"{verdict.remaining} of the budget of {verdict.limit} a minute ({setting}) is "
            f"left: retry in {verdict.reset} s"
        )
        body = {"errors": [{"message": message, "extensions": {"code": ErrorCode.RATE_LIMITED}}]}
        return uncacheable(body, 429, media_type, **verdict.headers())

    async with cancelled_on_disconnect(request):
        result, reads = await engine.executor.execute(
            checked.document,
            checked.operation,
            checked.prepared.plans,
            context_value=context,
            variable_values=graphql_request.variables,
            operation_name=graphql_request.operation_name,
            restore=context.snapshot,
            fatal=lambda error: (
                isinstance(error, RequestFinished) or unavailable(error, context) is not None
            ),
        )
    if follower is not None and checked.operation.operation == OperationType.MUTATION:
        await follower.poll()  # this worker answers with what was just written at once
    response = await _answer(
        request,
        result,
        reads,
        checked,
        context,
        media_type,
        request_error_status,
        shared,
        shared_cache,
    )
    if verdict is not None:
        response.headers.update(verdict.headers())
    return response


async def _check(
    graphql_request: GraphQLRequest,
    engine: Engine,
    context: RequestContext,
    persisted: PersistedQueries,
) -> Checked:
    """The request's document, found (by text, hash or id), parsed, within the limits, valid,
    with one operation this method may run, and within the cost limit (Refused if not)."""
    settings = context.settings
    too_many = refuse_variables(graphql_request.variables, engine.limits)
    if too_many is not None:
        raise Refused([too_many.formatted])
    try:
        query = await persisted.query(
            graphql_request.persisted,
            graphql_request.query,
            keyed=context.caller.key is not None,
        )
    except PersistedQueryError as error:
        raise Refused([{"message": error.message, "extensions": {"code": error.code}}]) from None
    prepared = engine.documents.prepare(query)
    if prepared.document is None:
        raise Refused(prepared.errors)
    operation = prepared.operation(graphql_request.operation_name)
    if operation is None:
        message = (
            f"no operation named {graphql_request.operation_name!r}"
            if graphql_request.operation_name
            else "several operations: say which with `operationName`"
        )
        raise Refused([{"message": message}])
    if graphql_request.method != "POST" and operation.operation != OperationType.QUERY:
        raise Refused(
            [{"message": f"a {operation.operation.value} needs POST"}], 405, {"allow": "POST"}
        )
    try:
        cost = prepared.cost(engine.costs, operation, graphql_request.variables)
    except Uncountable:
        raise Refused(
            [
                limit_error(
                    ErrorCode.QUERY_TOO_COMPLEX,
                    "The document's fragments spread each other too deeply to count its cost.",
                ).formatted
            ]
        ) from None
    cost_extension = {"requestedQueryCost": cost, "maxQueryCost": settings.max_query_cost}
    if cost > settings.max_query_cost:
        too_costly = limit_error(
            ErrorCode.QUERY_TOO_COMPLEX,
            f"The query costs {cost}; at most {settings.max_query_cost} is allowed "
            "(MAX_QUERY_COST). Ask for smaller pages or fewer nested lists.",
            cost=cost_extension,
        )
        raise Refused([too_costly.formatted])
    ref = graphql_request.persisted
    if ref is not None and ref.sha256 is not None and graphql_request.query is not None:
        # Valid, and within the caller's method and the cost limit: worth keeping.
        await persisted.register(ref.sha256, query)
    return Checked(query, prepared, prepared.document, operation, cost_extension)


@dataclass(frozen=True)
class Shared:
    """An answer any caller who sees only published content may share: where it is kept."""

    cache: ResponseCache
    key: str
    generation: int  # the cache's, when the request began
    position: int | None  # the outbox follower's, when the request began


async def _answer(
    request: Request,
    result: ExecutionResult,
    reads: Reads | None,
    checked: Checked,
    context: RequestContext,
    media_type: str,
    request_error_status: int,
    shared: Shared | None,
    shared_cache: SharedCache | None,
) -> Response:
    """The executed result as a response, kept in the response cache (and Redis) when it may
    be shared."""
    # Errors raised before execution (variables that do not coerce) carry no path: that is a
    # request error, answered without `data`. A field error that nulls the root has a path
    # and is an ordinary 200 response with `"data": null`.
    request_failed = result.data is None and all(not e.path for e in result.errors or ())
    body: dict[str, Any] = {}
    if result.errors:
        body["errors"] = _format_errors(result.errors, context)
    if not request_failed:
        body["data"] = result.data
    body["extensions"] = {"cost": checked.cost_extension}
    if request_failed:
        return uncacheable(with_stats(body, context, hit=None), request_error_status, media_type)
    content = orjson.dumps(body)
    etag = etag_of(content, media_type)
    tag_headers = surrogate_headers(reads.tags) if reads is not None else None
    if shared is not None and reads is not None and not result.errors:
        stored = shared.cache.put(
            shared.key,
            content=content,
            etag=etag,
            tags=reads.tags,
            generation=shared.generation,
            expires=reads.expires.timestamp() if reads.expires is not None else None,
        )
        if stored is not None:
            alias_request(request, shared.cache, shared.key, media_type, context)
        if shared_cache is not None and shared.position is not None and stored is not None:
            await shared_cache.put(shared.key, stored, shared.position)
    # An answer computed across a change may hold what the change replaced, and the CDN's
    # purge for it may already have gone out: no shared cache may keep it.
    crossed = shared is not None and shared.cache.generation != shared.generation
    return send(
        request,
        content,
        etag,
        media_type,
        context,
        tag_headers,
        hit=False if shared is not None else None,
        no_store=bool(result.errors) or crossed,
    )
