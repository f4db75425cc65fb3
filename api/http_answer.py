"""Sending a GraphQL answer: ETags, Cache-Control, cache tags, 304s, QUERY_STATS, and the
response cache's lookups (this worker's entries, then Redis's) and aliases for repeat GETs.
"""

from __future__ import annotations

import hashlib
import os
import time
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from api.context import RequestContext
from api.outbox import OutboxFollower
from api.response_cache import Entry, ResponseCache
from api.settings import ApiSettings
from api.shared_cache import SharedCache


def uncacheable(body: dict[str, Any], status: int, media_type: str, **headers: str) -> Response:
    """A response no cache may keep (request errors, failures); `send` and `shareable` make
    the ones caches may keep."""
    return Response(
        orjson.dumps(body),
        status_code=status,
        media_type=media_type,
        headers={"cache-control": "no-store", **headers},
    )


async def cached_entry(
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


def alias_request(
    request: Request, cache: ResponseCache, key: str, media_type: str, context: RequestContext
) -> None:
    """An anonymous GET's raw query string names this entry: the same request again is
    answered before it is even parsed (api/endpoint.py)."""
    anonymous = context.caller.key is None and not context.settings.query_stats
    if request.method in ("GET", "HEAD") and anonymous:
        cache.alias((request.scope["query_string"], media_type), key)


def with_stats(body: dict[str, Any], context: RequestContext, hit: bool | None) -> dict[str, Any]:
    """With QUERY_STATS: the body plus `extensions.queryStats` (and `cache {hit}` when the
    answer could come from the response cache)."""
    if not context.settings.query_stats:
        return body
    extensions = {**body.get("extensions", {}), "queryStats": context.stats.as_extension()}
    if hit is not None:
        extensions["cache"] = {"hit": hit}
    return {**body, "extensions": extensions}


def etag_of(content: bytes, media_type: str) -> str:
    # Each media type is its own representation, so it gets its own ETag.
    digest = hashlib.blake2b(content, digest_size=16, key=media_type.encode()[:64])
    return f'"{digest.hexdigest()}"'


def send(
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
        body = with_stats(orjson.loads(content), context, hit)
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
