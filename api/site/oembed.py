"""oEmbed (https://oembed.com): `/oembed?url=<article page>&maxwidth=&maxheight=&format=`.

The answer is a `rich` embed whose `html` frames the article's card (`/embed/articles/...`).
An URL that is not a published article's page here is 404; `format` is `json` (the default) or
`xml`, anything else 501, as the spec asks. Anyone may read it (CORS: any origin).
"""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import unquote, urlsplit

import orjson
from starlette.requests import Request
from starlette.responses import Response

from api.site.pages import EMBED_WIDTH, MAX_SLUG, SLUG, Pages, width_of
from api.site.site import PageError, View
from api.site_urls import embed_url

EMBED_HEIGHT = 320  # the card's height when `maxheight` does not ask for less
MAX_URL = 2000
JSON = "application/json"
XML = "text/xml; charset=utf-8"
FORMATS = {"json": JSON, "xml": XML}


def _place(url: str) -> tuple[str, str, str]:
    """(scheme, host[:port], path) as a browser compares them: scheme and host in lower
    case, a scheme's default port left out."""
    parts = urlsplit(url)
    scheme, host = parts.scheme.lower(), (parts.hostname or "")
    port = parts.port if parts.port not in (None, {"http": 80, "https": 443}.get(scheme)) else None
    return scheme, f"{host}:{port}" if port else host, parts.path


class OEmbed:
    def __init__(self, pages: Pages) -> None:
        self.pages, self.site = pages, pages.site
        self.site_url = pages.site_url
        self.headers = {"access-control-allow-origin": "*", "x-content-type-options": "nosniff"}

    def _slug(self, url: str | None) -> str:
        """The slug of the article page `url` names (PageError 400 or 404 otherwise)."""
        if not url:
            raise PageError(400, "`url` is required: the article page to embed")
        if len(url) > MAX_URL:
            raise PageError(400, f"`url` is over {MAX_URL} characters")
        try:
            own, given = _place(self.site_url), _place(url)
        except ValueError:  # a port that is not one
            raise PageError(404, f"{url} is not an article page of {self.site_url}") from None
        prefix = own[2].rstrip("/") + "/articles/"
        path = unquote(given[2]).removesuffix("/")
        slug = path.removeprefix(prefix) if path.startswith(prefix) else ""
        if given[:2] != own[:2] or not SLUG.fullmatch(slug) or len(slug) > MAX_SLUG:
            raise PageError(404, f"{url} is not an article page of {self.site_url}")
        return slug

    def _render(self, width: int, height: int, format_: str) -> Any:
        settings = self.site.settings

        def render(data: dict[str, Any], preview: bool) -> tuple[bytes, str]:
            article = data.get("article")
            if article is None:
                raise PageError(404, "no published article has that URL")
            src = f"{embed_url(self.site_url, article['slug'])}?maxwidth={width}"
            frame = (
                f'<iframe src="{html.escape(src)}" width="{width}" height="{height}" '
                f'title="{html.escape(article["title"])}" loading="lazy" '
                'style="border:0;max-width:100%" '
                'sandbox="allow-popups allow-popups-to-escape-sandbox"></iframe>'
            )
            answer = {
                "version": "1.0",
                "type": "rich",
                "title": article["title"],
                "provider_name": settings.publisher_name,
                "provider_url": self.site_url + "/",
                "html": frame,
                "width": width,
                "height": height,
                "cache_age": settings.cache_max_age,
            }
            if format_ == "xml":
                fields = [(name, str(value)) for name, value in answer.items()]
                return self.site.render("oembed.xml", fields=fields), XML
            return orjson.dumps(answer), JSON

        return render

    async def oembed(self, request: Request) -> Response:
        params = request.query_params
        format_ = params.get("format") or "json"
        try:
            if format_ not in FORMATS:
                raise PageError(501, f"format {format_[:20]!r} is not served: json or xml")
            slug = self._slug(params.get("url"))
            width = width_of(request, "maxwidth", EMBED_WIDTH)
            height = width_of(request, "maxheight", EMBED_HEIGHT)
            called = await self.site.call(request)
        except PageError as error:
            return self._error(error)
        called.anonymise()  # an embed is for everyone: drafts are not embedded, whoever asks
        view = View(
            "embed",
            {"slug": slug, "preview": False},
            self._render(width, height, format_),
            self.headers,
            key=f"oembed {format_} {width} {height}",
        )
        return await self.site.serve(request, called, view)

    def _error(self, error: PageError) -> Response:
        return Response(
            error.message + "\n",
            status_code=error.status,
            media_type="text/plain; charset=utf-8",
            headers={"cache-control": "no-store", **self.headers, **error.headers},
        )
