"""GraphQL over HTTP (https://graphql.github.io/graphql-over-http/): parse, validate, execute.

The request becomes a small `GraphQLRequest`; malformed requests get a 4xx with a plain
message, never a 500; results carry `errors` only when there are some.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from graphql import GraphQLError, GraphQLSchema, OperationType
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError
from starlette.requests import Request
from starlette.responses import Response

from api.context import BodyClock, RequestContext, RequestFinished
from api.cost import CostModel, Uncountable
from api.disconnect import cancelled_on_disconnect
from api.documents import DocumentCache
from api.executor import Executor
from api.limits import LimitCode, Limits, limit_error, refuse_variables
from api.outbox import OutboxFollower
from api.persisted import PersistedQueries, PersistedQueryError, Reference, reference
from api.ratelimit import Verdict
from api.response_cache import Entry, ResponseCache, cache_key, surrogate_headers
from api.settings import ApiSettings
from api.shared_cache import SharedCache
from schema.db import is_unavailable
from schema.keys import Scope

log = logging.getLogger("healthcontent.http")

BODY_TIMEOUT_S = 30.0  # a 2 MiB body needs some 0.6 Mbit/s
GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"


class RequestError(Exception):
    """The HTTP request itself is unusable: answered with `status` and a plain message."""

    def __init__(
        self,
        status: int,
        message: str,
        headers: dict[str, str] | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}
        self.code = code

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"message": self.message}
        if self.code:
            error["extensions"] = {"code": self.code}
        return {"errors": [error]}


@dataclass(frozen=True)
class GraphQLRequest:
    query: str | None  # None: named by `persisted` alone
    variables: dict[str, Any] | None
    operation_name: str | None
    method: str
    persisted: Reference | None = None  # a persisted query's hash or document id


def response_media_type(request: Request) -> str:
    """The response type the client accepts; 406 when it accepts neither JSON type."""
    accept = request.headers.get("accept", "")
    if not accept.strip():
        return JSON  # legacy clients send no Accept: the spec says to treat it as JSON
    types = set()
    for part in accept.split(","):
        media_type, *params = (p.strip().lower() for p in part.split(";"))
        if any(p.replace(" ", "") in ("q=0", "q=0.0", "q=0.00", "q=0.000") for p in params):
            continue  # q=0 means "not this one"
        types.add(media_type)
    if GRAPHQL_RESPONSE in types:
        return GRAPHQL_RESPONSE
    if types & {JSON, "application/*", "*/*"}:
        return JSON
    raise RequestError(406, f"cannot answer with {accept!r}: accept {GRAPHQL_RESPONSE} or {JSON}")


def _param(value: Any, name: str, kind: type, nullable: bool = True) -> Any:
    if value is None and nullable:
        return None
    if not isinstance(value, kind):
        wanted = {str: "a string", dict: "an object"}[kind]
        raise RequestError(400, f"`{name}` must be {wanted}")
    return value


def _too_large(max_bytes: int, what: str, status: int = 413) -> RequestError:
    # Answered without reading on. The server drains what the client still sends (within a
    # bound, see api/server.py) rather than hanging up at once: a reset connection would
    # lose the answer for the many clients that send the whole body before they read.
    return RequestError(
        status, f"{what} is over {max_bytes} bytes (MAX_BODY_BYTES)", code="REQUEST_TOO_LARGE"
    )


async def _body(request: Request, max_bytes: int, clock: BodyClock) -> bytes:
    """The body, read only as far as `max_bytes`: a larger one is refused with 413 as soon
    as its Content-Length (or, without one, its first byte over) says so. Reading it may
    take BODY_TIMEOUT_S; that time does not count against the request's deadline."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise _too_large(max_bytes, "the request body")
    chunks, size = [], 0
    clock.started = time.monotonic()
    try:
        async with asyncio.timeout(BODY_TIMEOUT_S):
            async for chunk in request.stream():
                size += len(chunk)
                if size > max_bytes:
                    raise _too_large(max_bytes, "the request body")
                chunks.append(chunk)
    except TimeoutError:
        raise RequestError(
            408, f"the request body took over {BODY_TIMEOUT_S:.0f} s to arrive"
        ) from None
    finally:
        clock.ended = time.monotonic()
    return b"".join(chunks)


async def read_request(request: Request, max_bytes: int, clock: BodyClock) -> GraphQLRequest:
    if request.method in ("GET", "HEAD"):
        if len(request.scope["query_string"]) > max_bytes:
            raise _too_large(max_bytes, "the query string", status=414)
        params: dict[str, Any] = dict(request.query_params)
        for name in ("variables", "extensions"):
            if name in params and params[name] != "":
                try:
                    params[name] = orjson.loads(params[name])
                except orjson.JSONDecodeError:
                    raise RequestError(400, f"`{name}` is not valid JSON") from None
            else:
                params.pop(name, None)
    else:
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != JSON:
            raise RequestError(
                415, f"send the query as {JSON} (got {content_type or 'no content type'})"
            )
        try:
            params = orjson.loads(await _body(request, max_bytes, clock))
        except orjson.JSONDecodeError as exc:
            raise RequestError(400, f"the body is not valid JSON: {exc}") from None
        if isinstance(params, list):
            raise RequestError(400, "batched requests (a JSON array) are not supported")
        if not isinstance(params, dict):
            raise RequestError(400, "the body must be a JSON object with a `query`")
    try:
        persisted = reference(
            _param(params.get("extensions"), "extensions", dict), params.get("documentId")
        )
    except PersistedQueryError as error:
        raise RequestError(400, error.message, code=error.code) from None
    query = params.get("query")
    if query == "":
        query = None
    if query is None and persisted is None:
        raise RequestError(400, "no `query` given")
    return GraphQLRequest(
        query=_param(query, "query", str),
        variables=_param(params.get("variables"), "variables", dict),
        # Many clients send "" for "no operation name".
        operation_name=_param(params.get("operationName"), "operationName", str) or None,
        method=request.method,
        persisted=persisted,
    )


class Unavailable(Exception):
    """The database cannot serve the request: answered with 503 and a plain message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def unavailable(error: BaseException, context: RequestContext) -> Unavailable | None:
    """What to tell the client when `error` means the database cannot serve it now."""
    settings = context.settings
    if isinstance(error, SQLAlchemyTimeoutError):
        return Unavailable(
            "SERVICE_UNAVAILABLE",
            f"no database connection came free within {settings.db_pool_timeout_ms} ms "
            "(DB_POOL_TIMEOUT_MS): the service is overloaded; retry shortly",
        )
    if is_unavailable(error):
        return Unavailable(
            "DATABASE_UNAVAILABLE",
            "the database cannot be reached (it did not answer within "
            f"{settings.db_connect_timeout_ms} ms, DB_CONNECT_TIMEOUT_MS, or refused); retry "
            "shortly",
        )
    return None


def _format_errors(errors: list[GraphQLError], context: RequestContext) -> list[dict[str, Any]]:
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
                "code": "INTERNAL_SERVER_ERROR",
                "requestId": context.request_id,
            }
            out.append(formatted)
        else:
            out.append(error.formatted)
    return out


def _response(body: dict[str, Any], status: int, media_type: str, **headers: str) -> Response:
    """A response no cache may keep (request errors, failures): only `_cacheable` allows it."""
    return Response(
        orjson.dumps(body),
        status_code=status,
        media_type=media_type,
        headers={"cache-control": "no-store", **headers},
    )


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
    settings = context.settings
    try:
        media_type = response_media_type(request)
    except RequestError as error:
        return _response(error.body(), error.status, JSON)
    try:
        graphql_request = await read_request(request, settings.max_body_bytes, context.body)
    except RequestError as error:
        return _response(error.body(), error.status, media_type, **error.headers)
    # Under application/json, well-formed GraphQL responses are 200 even with request errors
    # (legacy clients read the body); the newer media type uses 4xx for them.
    request_error_status = 400 if media_type == GRAPHQL_RESPONSE else 200

    too_many = refuse_variables(graphql_request.variables, engine.limits)
    if too_many is not None:
        return _response({"errors": [too_many.formatted]}, request_error_status, media_type)
    try:
        query = await persisted.query(
            graphql_request.persisted,
            graphql_request.query,
            keyed=context.caller.key is not None,
        )
    except PersistedQueryError as error:
        body = {"errors": [{"message": error.message, "extensions": {"code": error.code}}]}
        return _response(body, request_error_status, media_type)
    prepared = engine.documents.prepare(query)
    if prepared.document is None:
        return _response({"errors": prepared.errors}, request_error_status, media_type)
    operation = prepared.operation(graphql_request.operation_name)
    if operation is None:
        message = (
            f"no operation named {graphql_request.operation_name!r}"
            if graphql_request.operation_name
            else "several operations: say which with `operationName`"
        )
        return _response({"errors": [{"message": message}]}, request_error_status, media_type)
    if graphql_request.method != "POST" and operation.operation != OperationType.QUERY:
        return _response(
            {"errors": [{"message": f"a {operation.operation.value} needs POST"}]},
            405,
            media_type,
            allow="POST",
        )

    try:
        cost = prepared.cost(engine.costs, operation, graphql_request.variables)
    except Uncountable:
        error = limit_error(
            LimitCode.QUERY_TOO_COMPLEX,
            "The document's fragments spread each other too deeply to count its cost.",
        )
        return _response({"errors": [error.formatted]}, request_error_status, media_type)
    cost_extension = {"requestedQueryCost": cost, "maxQueryCost": settings.max_query_cost}
    if cost > settings.max_query_cost:
        error = limit_error(
            LimitCode.QUERY_TOO_COMPLEX,
            f"The query costs {cost}; at most {settings.max_query_cost} is allowed "
            "(MAX_QUERY_COST). Ask for smaller pages or fewer nested lists.",
            cost=cost_extension,
        )
        return _response({"errors": [error.formatted]}, request_error_status, media_type)
    ref = graphql_request.persisted
    if ref is not None and ref.sha256 is not None and graphql_request.query is not None:
        # Valid, and within the caller's method and the cost limit: worth keeping.
        await persisted.register(ref.sha256, query)

    # Answers any caller who sees only published content may share (drafts never enter).
    shared = (
        cache is not None
        and operation.operation == OperationType.QUERY
        and not context.caller.can(Scope.PREVIEW)
    )
    if shared:
        assert cache is not None
        key = cache_key(
            query, graphql_request.operation_name, graphql_request.variables, media_type
        )
        # Taken before anything is awaited: a change applied meanwhile bumps the generation,
        # and whatever this request computes or fetches is then not kept.
        generation = cache.generation
        position = follower.position if follower is not None else None
        entry = await _cached(cache, key, generation, follower, shared_cache)
        if entry is not None:  # a hit costs nothing: no budget is spent on it
            _alias(request, cache, key, media_type, context)
            return _send(request, entry.content, entry.etag, media_type, context, entry.headers)

    verdict = await charge(cost)
    if verdict is not None and not verdict.allowed:
        setting = "RATE_LIMIT_COST_KEY" if context.caller.key else "RATE_LIMIT_COST_ANONYMOUS"
        message = (
            f"this query costs {cost}, and only {verdict.remaining} of the budget of "
            f"{verdict.limit} a minute ({setting}) is left: retry in {verdict.reset} s"
        )
        body = {"errors": [{"message": message, "extensions": {"code": "RATE_LIMITED"}}]}
        return _response(body, 429, media_type, **verdict.headers())
    headers = verdict.headers() if verdict is not None else {}

    async with cancelled_on_disconnect(request):
        result, reads = await engine.executor.execute(
            prepared.document,
            operation,
            prepared.plans,
            context_value=context,
            variable_values=graphql_request.variables,
            operation_name=graphql_request.operation_name,
            restore=context.snapshot,
            fatal=lambda error: (
                isinstance(error, RequestFinished) or unavailable(error, context) is not None
            ),
        )
    if follower is not None and operation.operation == OperationType.MUTATION:
        await follower.poll()  # this worker answers with what was just written at once
    # Errors raised before execution (variables that do not coerce) carry no path: that is a
    # request error, answered without `data`. A field error that nulls the root has a path
    # and is an ordinary 200 response with `"data": null`.
    request_failed = result.data is None and all(not e.path for e in result.errors or ())
    body: dict[str, Any] = {}
    if result.errors:
        body["errors"] = _format_errors(result.errors, context)
    if not request_failed:
        body["data"] = result.data
    body["extensions"] = {"cost": cost_extension}
    if request_failed:
        return _response(
            _with_stats(body, context, hit=None), request_error_status, media_type, **headers
        )
    content = orjson.dumps(body)
    etag = _etag(content, media_type)
    tag_headers = surrogate_headers(reads.tags) if reads is not None else None
    if shared and reads is not None and not result.errors:
        assert cache is not None
        stored = cache.put(
            key,
            content=content,
            etag=etag,
            tags=reads.tags,
            generation=generation,
            expires=reads.expires.timestamp() if reads.expires is not None else None,
        )
        if stored is not None:
            _alias(request, cache, key, media_type, context)
        if shared_cache is not None and position is not None and stored is not None:
            await shared_cache.put(key, stored, position)
    # An answer computed across a change may hold what the change replaced, and the CDN's
    # purge for it may already have gone out: no shared cache may keep it.
    crossed = shared and cache is not None and cache.generation != generation
    response = _send(
        request,
        content,
        etag,
        media_type,
        context,
        tag_headers,
        hit=False if shared else None,
        no_store=bool(result.errors) or crossed,
    )
    response.headers.update(headers)
    return response


async def _cached(
    cache: ResponseCache,
    key: str,
    generation: int,
    follower: OutboxFollower | None,
    shared_cache: SharedCache | None,
) -> Entry | None:
    """This worker's entry for `key`, else Redis's, if it was computed after every change
    this worker has applied (when the request began, and now: the follower may have moved
    on while Redis answered); kept locally then, under the request's `generation`."""
    entry = cache.get(key)
    if entry is not None or shared_cache is None or follower is None or cache.blind:
        return entry
    position = follower.position
    if position is None:
        return None
    found = await shared_cache.get(key)
    if found is None:
        return None
    entry, computed_at = found
    if computed_at < max(position, follower.position or 0) or entry.expires <= time.time():
        return None
    cache.put(
        key,
        content=entry.content,
        etag=entry.etag,
        tags=entry.tags,
        generation=generation,
        expires=entry.expires,
    )
    return entry


def _alias(
    request: Request, cache: ResponseCache, key: str, media_type: str, context: RequestContext
) -> None:
    """An anonymous GET's raw query string names this entry: the same request again is
    answered before it is even parsed (api/app.py)."""
    anonymous = context.caller.key is None and not context.settings.query_stats
    if request.method in ("GET", "HEAD") and anonymous:
        cache.alias((request.scope["query_string"], media_type), key)


def _with_stats(body: dict[str, Any], context: RequestContext, hit: bool | None) -> dict[str, Any]:
    """With QUERY_STATS: the body plus `extensions.queryStats` (and `cache {hit}` when the
    answer could come from the response cache)."""
    if not context.settings.query_stats:
        return body
    extensions = {**body.get("extensions", {}), "queryStats": context.stats.as_extension()}
    if hit is not None:
        extensions["cache"] = {"hit": hit}
    return {**body, "extensions": extensions}


def _etag(content: bytes, media_type: str) -> str:
    # Each media type is its own representation, so it gets its own ETag.
    digest = hashlib.blake2b(content, digest_size=16, key=media_type.encode()[:64])
    return f'"{digest.hexdigest()}"'


def _send(
    request: Request,
    content: bytes,
    etag: str,
    media_type: str,
    context: RequestContext,
    tag_headers: dict[str, str] | None,
    hit: bool | None = True,
    no_store: bool = False,  # errors, or computed across a change
) -> Response:
    """GET answers without errors may be cached (by a CDN, say, which can purge them by
    their tags) and revalidated by ETag; everything else is `no-store`."""
    settings = context.settings
    if settings.query_stats:
        body = _with_stats(orjson.loads(content), context, hit)
        return Response(
            orjson.dumps(body), media_type=media_type, headers={"cache-control": "no-store"}
        )
    if request.method == "POST" or no_store:
        return Response(content, media_type=media_type, headers={"cache-control": "no-store"})
    keyed = context.caller.key is not None
    return shareable(request, content, etag, media_type, settings, tag_headers, keyed=keyed)


def shareable(
    request: Request,
    content: bytes,
    etag: str,
    media_type: str,
    settings: ApiSettings,
    tag_headers: dict[str, str] | None,
    *,
    keyed: bool = False,
) -> Response:
    """A GET answer without errors: cacheable downstream, revalidated by ETag."""
    # An answer to a key may hold drafts: only the caller's own browser may keep it, and
    # must revalidate it (by ETag) before every use. Shared caches (CDNs) never store it.
    headers = {
        "cache-control": cache_control(settings, keyed),
        "etag": etag,
        "vary": "Accept, Authorization",
    }
    if not keyed and tag_headers:
        headers.update(tag_headers)
    if etag_matches(request.headers.get("if-none-match", ""), etag):
        return Response(status_code=304, headers=headers)
    return Response(content, media_type=media_type, headers=headers)


def cache_control(settings: ApiSettings, keyed: bool) -> str:
    """Public answers any cache may keep a while; a key's, only its own browser (which
    revalidates before every use)."""
    if keyed:
        return "private, no-cache"
    return (
        f"public, max-age={settings.cache_max_age}, "
        f"stale-while-revalidate={settings.cache_stale_while_revalidate}"
    )


def etag_matches(if_none_match: str, etag: str) -> bool:
    """If-None-Match compares weakly: W/"x" matches "x", and * matches anything."""
    wanted = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return etag in wanted or "*" in wanted


def new_request_id() -> str:
    return os.urandom(8).hex()  # 16 hex digits, as uuid4().hex[:16] gave, for less work
