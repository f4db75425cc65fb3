"""The site's engine: runs one of its GraphQL documents for a request and renders the answer.

Every page, card, feed and oEmbed answer goes through `Site.serve`: who is calling (anonymous,
or a key sent as `Authorization: Bearer`), their rate limit, the document run by the API's own
executor under the request deadline, the template, and then the same caching as GET queries:
anonymous answers are kept in the response cache under the tags of what they read (dropped
when any of it changes), sent with an ETag, `Cache-Control: public` and the tag headers a CDN
purges by. A preview key's answers (drafts) are never kept by anyone.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import hashlib
import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import orjson
from graphql import GraphQLError
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response

from api.access import Caller, Unauthenticated, bearer_token, client_address, identify
from api.context import RequestContext
from api.http import Engine, unavailable
from api.http_answer import cache_control, etag_matches, new_request_id
from api.ratelimit import check_rate
from api.reads import Reads
from api.response_cache import surrogate_headers
from api.services import services_of
from api.settings import ApiSettings
from schema.keys import Scope

log = logging.getLogger("healthcontent.site")
T = TypeVar("T")

HERE = Path(__file__).parent
DOCUMENTS = {path.stem: path.read_text() for path in (HERE / "documents").glob("*.graphql")}

HTML = "text/html; charset=utf-8"
SURROGATE = ("surrogate-key", "cache-tag")  # the tag headers (api/response_cache.py)


def _unchanged(request: Request, etag: str, modified: str | None) -> bool:
    """Whether the client's copy is this one (RFC 9110 13.1): If-None-Match decides when
    sent (compared weakly, `*` matching anything); else If-Modified-Since, when the answer
    has a Last-Modified."""
    given = request.headers.get("if-none-match")
    if given is not None:
        return etag_matches(given, etag)
    since = request.headers.get("if-modified-since")
    if since is None or modified is None:
        return False
    parsed = email.utils.parsedate_tz(since)  # IMF-fixdate, RFC 850 and asctime alike
    if parsed is None:
        return False
    ours = email.utils.parsedate_tz(modified)
    assert ours is not None  # our own Last-Modified, always an IMF-fixdate
    return email.utils.mktime_tz(parsed) >= email.utils.mktime_tz(ours)


def _long_date(value: str | None) -> str:
    """`2026-03-01` or an ISO date-time -> `1 March 2026`."""
    if not value:
        return ""
    day = dt.date.fromisoformat(value[:10])
    return f"{day.day} {day:%B %Y}"


# What XML 1.0 does not allow (a feed with one is unreadable to every reader), and lone
# surrogates (which cannot be encoded): dropped from whatever a template shows.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _shown(value: Any) -> Any:
    if isinstance(value, str) and _NOT_XML.search(value):
        cleaned = _NOT_XML.sub("", value)
        return Markup(cleaned) if isinstance(value, Markup) else cleaned
    return value


def templates() -> Environment:
    environment = Environment(
        finalize=_shown,
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(("html", "xml", "atom"), default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    environment.filters["long_date"] = _long_date
    return environment


class PageError(Exception):
    """Answered with `status` and a plain message (a small HTML page, or text)."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


@dataclass
class View:
    """One request's document, and how its answer becomes a response."""

    document: str  # a file in api/site/documents/, without .graphql
    variables: dict[str, Any]
    # The answer's data -> (the body, its media type); raises PageError (a 404, say).
    render: Callable[[dict[str, Any], bool], tuple[bytes, str]]
    # Headers every answer carries, cached or not (Content-Security-Policy, say).
    headers: dict[str, str] = field(default_factory=dict)
    # Sent with Last-Modified (when it was made), and If-Modified-Since honoured (feeds).
    conditional: bool = False
    key: str = ""  # what else the rendering depends on (the card's width, say)
    # Instead of the document: reads the data itself (the sitemap), and says what it read.
    fetch: Callable[[RequestContext], Awaitable[tuple[dict[str, Any], Reads]]] | None = None


@dataclass
class Called:
    """Who is calling, and what they may see."""

    caller: Caller
    context: RequestContext

    @property
    def preview(self) -> bool:
        return self.caller.can(Scope.PREVIEW)

    def anonymise(self) -> None:
        """Answer as to anyone (feeds and oEmbed show published content, whoever asks)."""
        self.caller = self.context.caller = Caller(None, self.caller.address)


class Site:
    """Serves `View`s: built once per application."""

    def __init__(self, settings: ApiSettings, engine: Engine) -> None:
        self.settings, self.engine = settings, engine
        self.templates = templates()
        self.deadline_s = settings.request_timeout_ms / 1000

    def render(self, template: str, **values: Any) -> bytes:
        values.setdefault("site_url", self.settings.site_url.rstrip("/"))
        values.setdefault("publisher", self.settings.publisher_name)
        values.setdefault("preview", False)
        return self.templates.get_template(template).render(values).encode()

    def error_page(self, error: PageError, headers: dict[str, str] | None = None) -> Response:
        heading = {404: "Not found", 429: "Too many requests", 401: "Not signed in"}.get(
            error.status, "Something went wrong"
        )
        body = self.render("error.html", heading=heading, message=error.message)
        return Response(
            body,
            status_code=error.status,
            media_type=HTML,
            headers={"cache-control": "no-store", **error.headers, **(headers or {})},
        )

    async def call(self, request: Request) -> Called:
        """The caller, counted against their rate limit (PageError when over it, or when
        their key is unknown)."""
        services = services_of(request.app)
        context = RequestContext(
            settings=self.settings,
            engine=services.engine,
            sessions=services.sessions,
            request_id=request.headers.get("x-request-id") or new_request_id(),
        )
        try:
            if bearer_token(request) is None:
                context.caller = Caller(None, client_address(request))
            else:
                async with self._bounded(context):
                    context.caller = await context.read(lambda s: identify(request, s))
        except Unauthenticated as exc:
            await context.close()
            raise PageError(401, str(exc)) from None
        except PageError:
            await context.close()
            raise
        verdict = await check_rate(context.caller, services.limiter, self.settings)
        if verdict is not None and not verdict.allowed:
            await context.close()
            raise PageError(
                429,
                f"rate limit of {verdict.limit} requests a minute reached: "
                f"retry in {verdict.reset} s",
                verdict.headers(),
            )
        return Called(context.caller, context)

    async def serve(self, request: Request, called: Called, view: View) -> Response:
        """Run `view`'s document for `called`, render it, keep it (when anyone may see it)."""
        try:
            response = await self._serve(request, called, view)
        except PageError as error:
            response = self.error_page(error, view.headers)
        finally:
            await called.context.close()
        response.headers["x-request-id"] = called.context.request_id
        return response

    async def _serve(self, request: Request, called: Called, view: View) -> Response:
        cache = services_of(request.app).response_cache if not called.preview else None
        keyed = called.caller.key is not None
        key = "site " + orjson.dumps([view.document, view.variables, view.key]).decode()
        if cache is not None:
            entry = cache.get(key)
            if entry is not None:
                return self._send(request, entry.content, entry.etag, entry.headers, view, keyed)
            generation = cache.generation
        made = time.time()
        if view.fetch is not None:
            async with self._bounded(called.context):
                data, reads = await view.fetch(called.context)
        else:
            data, reads = await self._run(called.context, view)
        content, media_type = view.render(data, called.preview)
        etag = '"' + hashlib.blake2b(content, digest_size=16).hexdigest() + '"'
        headers = {"content-type": media_type}
        if view.conditional:
            # When the answer was made: any later change to what it shows drops it from the
            # cache, so a kept answer was never made before the last change to its content.
            headers["last-modified"] = email.utils.formatdate(made, usegmt=True)
        if called.preview or reads is None:
            # A draft, or an answer whose reads are not known: nobody may keep it.
            return Response(
                content,
                headers={
                    **headers,
                    **view.headers,
                    "cache-control": "private, no-store",
                    "x-robots-tag": "noindex",
                },
            )
        headers.update(surrogate_headers(reads.tags))
        if cache is not None:
            cache.put(
                key,
                content=content,
                etag=etag,
                tags=reads.tags,
                generation=generation,
                expires=reads.expires.timestamp() if reads.expires is not None else None,
                headers=headers,
            )
            if cache.generation != generation:  # computed across a change: keep it nowhere
                return Response(
                    content, headers={**headers, **view.headers, "cache-control": "no-store"}
                )
        return self._send(request, content, etag, headers, view, keyed)

    def _send(
        self,
        request: Request,
        content: bytes,
        etag: str,
        headers: dict[str, str],
        view: View,
        keyed: bool,
    ) -> Response:
        """The answer, or 304 when the client's copy is current (If-None-Match; else
        If-Modified-Since). Shared caches may keep it unless the request was keyed."""
        sent = {k: v for k, v in headers.items() if k != "content-type"}
        if keyed:
            sent = {k: v for k, v in sent.items() if k not in SURROGATE}
        sent.update(
            {
                "cache-control": cache_control(self.settings, keyed),
                "etag": etag,
                "vary": "Authorization",  # pages do not vary by Accept
                **view.headers,
            }
        )
        if _unchanged(request, etag, sent.get("last-modified")):
            return Response(status_code=304, headers=sent)
        return Response(content, headers={**sent, "content-type": headers["content-type"]})

    async def read(self, context: RequestContext, fetch: Callable[[Any], Awaitable[T]]) -> T:
        """`fetch(session)` under the deadline; PageError 503 when the database cannot."""
        async with self._bounded(context):
            return await context.read(fetch)

    @asynccontextmanager
    async def _bounded(self, context: RequestContext) -> AsyncIterator[None]:
        """Work under the request deadline; a deadline passed, or a database that cannot
        serve, becomes a 503 PageError."""
        try:
            async with asyncio.timeout(self.deadline_s):
                yield
        except TimeoutError:
            raise self._too_slow() from None
        except PageError:
            raise
        except Exception as exc:
            refusal = unavailable(exc, context)
            if refusal is None:
                raise
            raise PageError(503, refusal.message, {"retry-after": "1"}) from None

    def _too_slow(self) -> PageError:
        return PageError(
            503,
            f"the page took longer than {self.settings.request_timeout_ms} ms "
            "(REQUEST_TIMEOUT_MS) to make; retry shortly",
            {"retry-after": "1"},
        )

    async def _run(self, context: RequestContext, view: View) -> tuple[dict[str, Any], Any]:
        """The document's data and what it read; PageError for a bad argument, 503 when the
        database cannot serve it or the deadline passes."""
        prepared = self.engine.documents.prepare(DOCUMENTS[view.document])
        assert prepared.document is not None, prepared.errors  # the site's own documents
        operation = prepared.operation(None)
        assert operation is not None
        async with self._bounded(context):
            result, reads = await self.engine.executor.execute(
                prepared.document,
                operation,
                prepared.plans,
                context_value=context,
                variable_values=view.variables,
                operation_name=None,
                restore=context.snapshot,
                fatal=lambda error: unavailable(error, context) is not None,
            )
        for error in result.errors or ():
            original = error.original_error
            if original is not None and not isinstance(original, GraphQLError):
                refusal = unavailable(original, context)
                if refusal is not None:
                    raise PageError(503, refusal.message, {"retry-after": "1"})
                log.error("site document %s failed", view.document, exc_info=original)
                raise PageError(500, "Internal server error")
            raise PageError(400, error.message)
        return result.data or {}, reads
