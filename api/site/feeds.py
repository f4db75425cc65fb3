"""Atom feeds (RFC 4287) of the newest articles: all of them, a topic's (its subtopics'
included) and an expert's; and the sitemap (an index of parts past SITEMAP_URLS_PER_FILE).

Feeds answer conditional GETs by ETag and by Last-Modified (the newest entry's update).
Entries carry the summary, the topics as categories, the publisher as author, the licence
(`rights`, and a `license` link, RFC 4946) and the medical review in the `review:` namespace.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

from api.context import RequestContext
from api.reads import Reads
from api.site.pages import Pages, slug_of
from api.site.site import Called, PageError, View
from api.site_urls import feed_url, page_url
from schema import sitemap

ATOM = "application/atom+xml; charset=utf-8"
XML = "application/xml; charset=utf-8"
FEED_SIZE = 50
EPOCH = "1970-01-01T00:00:00+00:00"  # an empty feed's `updated`: nothing has been
SITEMAP_TAGS = {f"list:{kind}" for kind in sitemap.KINDS}


def _newest(connection: dict[str, Any] | None) -> str:
    edges = (connection or {}).get("edges") or []
    return max((edge["node"]["updatedAt"] for edge in edges), default=EPOCH)


class Feeds:
    """The feed and sitemap handlers."""

    def __init__(self, pages: Pages) -> None:
        self.pages, self.site = pages, pages.site
        self.site_url = pages.site_url
        self.host = urlsplit(self.site_url).hostname or "localhost"
        self.per_file = self.site.settings.sitemap_urls_per_file

    def _entry_id(self, node_id: str) -> str:
        # A tag URI (RFC 4151): stable however the article's slug or URL change.
        return f"tag:{self.host},2026:{node_id}"

    def _view(self, variables: dict[str, Any], describe: Any) -> View:
        def render(data: dict[str, Any], preview: bool) -> tuple[bytes, str]:
            described = describe(data)
            if described is None:
                raise PageError(404, "There is no such feed.")
            title, subtitle, page, self_url, connection = described
            articles = [
                {**edge["node"], "entry_id": self._entry_id(edge["node"]["id"])}
                for edge in connection["edges"]
            ]
            body = self.site.render(
                "feed.atom",
                feed_id=self_url,
                title=title,
                subtitle=subtitle,
                updated=_newest(connection),
                self_url=self_url,
                page_url=page,
                articles=articles,
            )
            return body, ATOM

        defaults = {
            "all": False,
            "topic": "",
            "byTopic": False,
            "expert": "",
            "byExpert": False,
            "first": FEED_SIZE,
        }
        return View(
            "feed",
            {**defaults, **variables},
            render,
            {"x-content-type-options": "nosniff"},
            conditional=True,
        )

    async def articles(self, request: Request) -> Response:
        publisher = self.site.settings.publisher_name

        async def view(called: Called) -> View:
            return self._view(
                {"all": True},
                lambda data: (
                    f"{publisher}: articles",
                    None,
                    self.site_url,
                    feed_url(self.site_url),
                    data["articles"],
                ),
            )

        return await self.pages.serve(request, view, anonymous=True)

    async def topic(self, request: Request) -> Response:
        return await self._feed_of(request, "Topic")

    async def expert(self, request: Request) -> Response:
        return await self._feed_of(request, "Expert")

    async def _feed_of(self, request: Request, typename: str) -> Response:
        """A topic's feed (subtitled by its description) or an expert's (by specialty)."""
        publisher, field = self.site.settings.publisher_name, typename.lower()

        async def view(called: Called) -> View:
            slug = slug_of(request)

            def describe(data: dict[str, Any]) -> Any:
                item = data.get(field)
                if item is None:
                    return None
                name = " ".join(filter(None, (item.get("honorific"), item["name"])))
                subtitle = item["description"] if typename == "Topic" else item["specialty"]
                return (
                    f"{publisher}: {name}",
                    subtitle,
                    item["url"],
                    feed_url(self.site_url, typename, slug),
                    item["articles"],
                )

            return self._view({field: slug, f"by{typename}": True}, describe)

        # Feeds show published articles only, whoever asks.
        return await self.pages.serve(request, view, anonymous=True)

    def _listed_pages(self, rows: list[sitemap.Listed]) -> list[dict[str, str]]:
        return [
            {
                "loc": page_url(self.site_url, row.typename, row.slug),
                "lastmod": row.lastmod.astimezone(dt.UTC).isoformat(timespec="seconds"),
            }
            for row in rows
        ]

    async def sitemap(self, request: Request) -> Response:
        """Every page, or past SITEMAP_URLS_PER_FILE, an index of the parts."""

        async def fetch(context: RequestContext) -> tuple[dict[str, Any], Reads]:
            async def read(session: Any) -> dict[str, Any]:
                counts = await sitemap.counts(session)
                if sum(counts.values()) <= self.per_file:
                    rows: list[sitemap.Listed] = []
                    for kind in sitemap.KINDS:
                        rows += await sitemap.listed(session, kind, offset=0, limit=self.per_file)
                    return {"pages": self._listed_pages(rows)}
                parts = [
                    {"loc": f"{self.site_url}/sitemaps/{kind.lower()}s-{n}.xml"}
                    for kind in sitemap.KINDS
                    for n in range(1, math.ceil(counts[kind] / self.per_file) + 1)
                ]
                return {"parts": parts}

            return await context.read(read), Reads(set(SITEMAP_TAGS))

        def render(data: dict[str, Any], preview: bool) -> tuple[bytes, str]:
            if "parts" in data:
                return self.site.render("sitemap_index.xml", parts=data["parts"]), XML
            return self.site.render("sitemap.xml", pages=data["pages"]), XML

        async def view(called: Called) -> View:
            return View("sitemap", {}, render, {}, key="index", fetch=fetch)

        return await self.pages.serve(request, view, anonymous=True)

    async def sitemap_part(self, request: Request) -> Response:
        """One part of the index: `/sitemaps/articles-2.xml` and the like."""
        kinds = {f"{kind.lower()}s": kind for kind in sitemap.KINDS}

        async def view(called: Called) -> View:
            kind = kinds.get(request.path_params["kind"])
            number = request.path_params["number"]
            if kind is None or not re.fullmatch(r"[1-9][0-9]{0,5}", number):
                raise PageError(404, "There is no such sitemap.")
            offset = (int(number) - 1) * self.per_file

            async def fetch(context: RequestContext) -> tuple[dict[str, Any], Reads]:
                async def read(session: Any) -> list[sitemap.Listed]:
                    return list(
                        await sitemap.listed(session, kind, offset=offset, limit=self.per_file)
                    )

                rows = await context.read(read)
                if not rows:
                    raise PageError(404, "There is no such sitemap.")
                return {"pages": self._listed_pages(rows)}, Reads(set(SITEMAP_TAGS))

            def render(data: dict[str, Any], preview: bool) -> tuple[bytes, str]:
                return self.site.render("sitemap.xml", pages=data["pages"]), XML

            return View("sitemap", {}, render, {}, key=f"{kind} {number}", fetch=fetch)

        return await self.pages.serve(request, view, anonymous=True)
