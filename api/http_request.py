"""The GraphQL-over-HTTP request (https://graphql.github.io/graphql-over-http/): the media type
to answer in, and the body or query string read into a small `GraphQLRequest`, within
MAX_BODY_BYTES and BODY_TIMEOUT_S. A malformed request raises `RequestError`: a 4xx with a
plain message, never a 500.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.requests import Request

from api.context import BodyClock
from api.errors import ErrorCode
from api.persisted import PersistedQueryError, Reference, reference

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
        code: ErrorCode | None = None,
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


_WANTED: dict[type, str] = {str: "a string", dict: "an object"}


def _param(value: Any, name: str, kind: type, nullable: bool = True) -> Any:
    if value is None and nullable:
        return None
    if not isinstance(value, kind):
        wanted = _WANTED[kind]
        raise RequestError(400, f"`{name}` must be {wanted}")
    return value


def _too_large(max_bytes: int, what: str, status: int = 413) -> RequestError:
    # Answered without reading on. The server drains what the client still sends (within a
    # bound, see api/server.py) rather than hanging up at once: a reset connection would
    # lose the answer for the many clients that send the whole body before they read.
    return RequestError(
        status,
        f"{what} is over {max_bytes} bytes (MAX_BODY_BYTES)",
        code=ErrorCode.REQUEST_TOO_LARGE,
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
    """The request's query, variables, operation name and persisted-query reference."""
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
            body: Any = orjson.loads(await _body(request, max_bytes, clock))
        except orjson.JSONDecodeError as exc:
            raise RequestError(400, f"the body is not valid JSON: {exc}") from None
        if isinstance(body, list):
            raise RequestError(400, "batched requests (a JSON array) are not supported")
        if not isinstance(body, dict):
            raise RequestError(400, "the body must be a JSON object with a `query`")
        params = body
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
