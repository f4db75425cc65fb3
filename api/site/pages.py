"""The HTML pages at the URLs the API gives out (`/articles/{slug}`, `/topics/{slug}`,
`/experts/{slug}`) and the embeddable article card (`/embed/articles/{slug}`).

Pages hold no script but the JSON-LD data block, and load nothing from another origin but
images; drafts are 404 unless the request carries a preview key (then the page says it is a
preview and is kept by nobody).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from starlette.requests import Request
from starlette.responses import Response

from api.site.site import HTML, Called, PageError, Site, View
from api.site_urls import feed_url, page_url
from schema.keys import origins_of_prefix

MAX_SLUG = 200
MAX_CURSOR = 200
PAGE_SIZE = 20
EMBED_WIDTH = 480  # the card's width when `maxwidth` does not ask for less
SLUG = re.compile(r"[a-z0-9][a-z0-9-]*")
_PREFIX = re.compile(r"[0-9a-f]{10}")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def security_headers(site_url: str, frame_ancestors: str = "'self'") -> dict[str, str]:
    """No script runs, styles come from the site alone, images from anywhere secure; who
    may frame the page."""
    own = _origin(site_url)
    policy = (
        "default-src 'none'; "
        f"style-src 'self' {own}; "
        "img-src 'self' https: http: data:; "
        "base-uri 'none'; form-action 'none'; "
        f"frame-ancestors {frame_ancestors}"
    )
    return {
        "content-security-policy": policy,
        "x-content-type-options": "nosniff",
        "referrer-policy": "strict-origin-when-cross-origin",
    }


def slug_of(request: Request) -> str:
    """The path's slug, or a 404: slugs are short and URL-safe, anything else names nothing."""
    slug: str = request.path_params["slug"]
    if len(slug) > MAX_SLUG or not SLUG.fullmatch(slug):
        raise PageError(404, "There is no such page.")
    return slug


def cursor_of(request: Request) -> str | None:
    after = request.query_params.get("after") or None
    if after is not None and len(after) > MAX_CURSOR:
        raise PageError(400, f"`after` is over {MAX_CURSOR} characters")
    return after


def width_of(request: Request, name: str = "maxwidth", default: int = EMBED_WIDTH) -> int:
    """A positive pixel size from the query string, at most `default`."""
    given = request.query_params.get(name)
    if given is None or given == "":
        return default
    if not re.fullmatch(r"[1-9][0-9]{0,5}", given):
        raise PageError(400, f"`{name}` must be a positive whole number of pixels")
    return min(int(given), default)


class Pages:
    """The page handlers, over one `Site`."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self.site_url = site.settings.site_url.rstrip("/")
        self.headers = security_headers(self.site_url)

    def _page(self, template: str, what: str, item: str, **values: Any) -> Any:
        """Renders `template` with the answer's `item`, or a 404 when there is none. A
        preview of something not published says so at the top."""

        def render(data: dict[str, Any], preview: bool) -> tuple[bytes, str]:
            found = data.get(item)
            if found is None:
                raise PageError(404, f"There is no {what} here.")
            unpublished = preview and found.get("status", "PUBLISHED") != "PUBLISHED"
            body = self.site.render(
                template, **{item: found}, preview=unpublished, preview_what=what, **values
            )
            return body, HTML

        return render

    async def serve(
        self,
        request: Request,
        view_for: Callable[[Called], Awaitable[View]],
        *,
        anonymous: bool = False,
    ) -> Response:
        """Who calls, then `view_for(called)`, then the view served; any PageError on the
        way is an error page. `anonymous`: answered as to anyone, whatever key came along."""
        try:
            called = await self.site.call(request)
        except PageError as error:
            return self.site.error_page(error, self.headers)
        if anonymous:
            called.anonymise()
        try:
            view = await view_for(called)
        except PageError as error:
            await called.context.close()
            return self.site.error_page(error, self.headers)
        return await self.site.serve(request, called, view)

    async def article(self, request: Request) -> Response:
        async def view(called: Called) -> View:
            slug = slug_of(request)
            page = page_url(self.site_url, "Article", slug)
            oembed = f"{self.site_url}/oembed?url={quote(page, safe='')}"
            return View(
                "article",
                {"slug": slug, "preview": called.preview},
                self._page(
                    "article.html",
                    "article",
                    "article",
                    oembed_json=f"{oembed}&format=json",
                    oembed_xml=f"{oembed}&format=xml",
                ),
                self.headers,
            )

        return await self.serve(request, view)

    async def topic(self, request: Request) -> Response:
        return await self._listing(request, "Topic")

    async def expert(self, request: Request) -> Response:
        return await self._listing(request, "Expert")

    async def _listing(self, request: Request, typename: str) -> Response:
        """A topic's or an expert's page: who or what, then a page of their articles."""
        name = typename.lower()

        async def view(called: Called) -> View:
            slug = slug_of(request)
            variables = {"slug": slug, "first": PAGE_SIZE, "after": cursor_of(request)}
            feed = feed_url(self.site_url, typename, slug)
            render = self._page(f"{name}.html", name, name, feed=feed)
            return View(name, variables, render, self.headers)

        return await self.serve(request, view)

    async def embed(self, request: Request) -> Response:
        """The card. Any origin may frame it; with `?key=<key prefix>` (or a key sent along),
        only that key's origins may."""
        prefix = request.query_params.get("key")

        async def view(called: Called) -> View:
            slug, width = slug_of(request), width_of(request)
            origins: list[str] | None = None
            if prefix is not None:
                if prefix.startswith("hck_"):
                    raise PageError(400, "`key` takes the key's public prefix, never the key")
                if not _PREFIX.fullmatch(prefix):
                    raise PageError(400, "`key` is not a key prefix")
                origins = await self.site.read(
                    called.context, lambda session: origins_of_prefix(session, prefix)
                )
                if origins is None:
                    raise PageError(404, "no live key has that prefix")
            elif called.caller.key is not None:
                origins = list(called.caller.key.origins)
            ancestors = "*" if origins is None else (" ".join(origins) or "'none'")
            return View(
                "embed",
                {"slug": slug, "preview": called.preview},
                self._page("embed.html", "article", "article", width=width),
                security_headers(self.site_url, ancestors),
                key=str(width),
            )

        return await self.serve(request, view)

    async def favicon(self, request: Request) -> Response:
        """No icon (browsers ask for one when a feed or the sitemap is shown)."""
        return Response(status_code=204, headers={"cache-control": "public, max-age=86400"})

    async def stylesheet(self, request: Request) -> Response:
        return Response(
            STYLESHEET,
            media_type="text/css; charset=utf-8",
            headers={"cache-control": "public, max-age=86400", "x-content-type-options": "nosniff"},
        )


STYLESHEET = (Path(__file__).parent / "site.css").read_bytes()
