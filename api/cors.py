"""CORS: which browser origins may call, answered on preflights and on every response.

Allowed: the origins in CORS_ORIGINS ("*" for any), plus, for a request made with a key, that
key's own origins. A preflight carries no key, so it is allowed for any origin some live key
has; the request that follows must still come with that key.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

ALLOWED_METHODS = "GET, HEAD, POST, OPTIONS"
ALLOWED_HEADERS = {"authorization", "content-type", "accept", "x-request-id", "if-none-match"}
EXPOSED_HEADERS = (
    "RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, RateLimit-Policy, "
    "RateLimit-Cost-Limit, RateLimit-Cost-Remaining, RateLimit-Cost-Reset, "
    "RateLimit-Cost-Policy, Retry-After, X-Request-Id, ETag"
)
PREFLIGHT_MAX_AGE = 600


def is_allowed(origin: str, *allowed: Iterable[str]) -> bool:
    return any(origin in origins or "*" in origins for origins in map(set, allowed))


def preflight(request: Request, allowed: bool) -> Response:
    """The answer to `OPTIONS` with `Origin` and `Access-Control-Request-Method`."""
    origin = request.headers["origin"]
    if not allowed:
        return PlainTextResponse(f"origin {origin!r} may not call this API", status_code=403)
    method = request.headers.get("access-control-request-method", "").upper()
    if method not in ("GET", "POST", "HEAD"):
        return PlainTextResponse(f"method {method!r} is not allowed", status_code=403)
    asked = request.headers.get("access-control-request-headers", "")
    headers = {h.strip().lower() for h in asked.split(",") if h.strip()}
    refused = sorted(headers - ALLOWED_HEADERS)
    if refused:
        return PlainTextResponse(f"header {refused[0]!r} is not allowed", status_code=403)
    return Response(
        status_code=204,
        headers={
            "access-control-allow-origin": origin,
            "access-control-allow-methods": ALLOWED_METHODS,
            "access-control-allow-headers": ", ".join(sorted(ALLOWED_HEADERS)),
            "access-control-max-age": str(PREFLIGHT_MAX_AGE),
            "vary": "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
        },
    )


def is_preflight(request: Request) -> bool:
    return (
        request.method == "OPTIONS"
        and "origin" in request.headers
        and "access-control-request-method" in request.headers
    )


def add_headers(response: Response, origin: str | None, allowed: bool) -> None:
    """Let the browser read `response` from `origin`, if it is allowed."""
    vary = response.headers.get("vary")
    response.headers["vary"] = f"{vary}, Origin" if vary else "Origin"
    if origin is None or not allowed:
        return
    response.headers["access-control-allow-origin"] = origin
    response.headers["access-control-expose-headers"] = EXPOSED_HEADERS
