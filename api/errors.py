"""ErrorCode: every top-level `extensions.code` the API answers with, and the error response
sent before any GraphQL runs.

Edits refused for their content answer in the payload's `errors` instead, with the codes of
`schema.edits.EditCode`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from starlette.responses import JSONResponse, Response


class ErrorCode(StrEnum):
    """The `extensions.code` of a top-level GraphQL error."""

    # The HTTP request itself
    BAD_REQUEST = "BAD_REQUEST"
    REQUEST_TOO_LARGE = "REQUEST_TOO_LARGE"
    # Who is calling and how often
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    RATE_LIMITED = "RATE_LIMITED"
    # The document's size and shape (api/limits.py) and its cost (api/cost.py)
    QUERY_TOO_LARGE = "QUERY_TOO_LARGE"
    VARIABLES_TOO_LARGE = "VARIABLES_TOO_LARGE"
    QUERY_TOO_DEEP = "QUERY_TOO_DEEP"
    TOO_MANY_ALIASES = "TOO_MANY_ALIASES"
    TOO_MANY_DIRECTIVES = "TOO_MANY_DIRECTIVES"
    TOO_MANY_TOKENS = "TOO_MANY_TOKENS"
    QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"
    # Persisted queries and trusted documents (api/persisted.py)
    PERSISTED_QUERY_NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
    PERSISTED_QUERY_NOT_SUPPORTED = "PERSISTED_QUERY_NOT_SUPPORTED"
    PERSISTED_QUERY_HASH_MISMATCH = "PERSISTED_QUERY_HASH_MISMATCH"
    DOCUMENT_NOT_TRUSTED = "DOCUMENT_NOT_TRUSTED"
    # Arguments a resolver refuses
    BAD_USER_INPUT = "BAD_USER_INPUT"
    # The service
    REQUEST_TIMEOUT = "REQUEST_TIMEOUT"
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
    DATABASE_UNAVAILABLE = "DATABASE_UNAVAILABLE"
    INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"


def error_response(
    status: int,
    message: str,
    *,
    code: ErrorCode | None = None,
    extensions: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """A GraphQL-shaped error answered before any GraphQL runs (401, 429, 500, 503)."""
    extensions = {**({"code": code.value} if code else {}), **(extensions or {})}
    error: dict[str, Any] = {"message": message}
    if extensions:
        error["extensions"] = extensions
    return JSONResponse(
        {"errors": [error]},
        status_code=status,
        headers={"cache-control": "no-store", **(headers or {})},
    )
