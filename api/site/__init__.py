"""The site: pages at the URLs the API gives out, the embeddable card, oEmbed, Atom feeds and
the sitemap. Each runs one of the site's own GraphQL documents (api/site/documents/) through
the API's executor and renders it with Jinja2 (api/site/templates/, autoescaped); see
api/site/site.py for caching and previews."""

from __future__ import annotations

from starlette.routing import Route

from api.http import Engine
from api.settings import ApiSettings
from api.site.feeds import Feeds
from api.site.oembed import OEmbed
from api.site.pages import Pages
from api.site.site import Site


def routes(settings: ApiSettings, engine: Engine) -> list[Route]:
    pages = Pages(Site(settings, engine))
    feeds, oembed = Feeds(pages), OEmbed(pages)
    return [
        Route("/articles/{slug}", pages.article, methods=["GET"]),
        Route("/topics/{slug}", pages.topic, methods=["GET"]),
        Route("/experts/{slug}", pages.expert, methods=["GET"]),
        Route("/embed/articles/{slug}", pages.embed, methods=["GET"]),
        Route("/site.css", pages.stylesheet, methods=["GET"]),
        Route("/favicon.ico", pages.favicon, methods=["GET"]),
        Route("/oembed", oembed.oembed, methods=["GET"]),
        Route("/feeds/articles.atom", feeds.articles, methods=["GET"]),
        Route("/feeds/topics/{slug}.atom", feeds.topic, methods=["GET"]),
        Route("/feeds/experts/{slug}.atom", feeds.expert, methods=["GET"]),
        Route("/sitemap.xml", feeds.sitemap, methods=["GET"]),
        Route("/sitemaps/{kind}-{number}.xml", feeds.sitemap_part, methods=["GET"]),
    ]
