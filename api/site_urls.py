"""The public addresses of the site's pages: one place that spells them, for the GraphQL `url`
fields, the pages themselves, oEmbed, the feeds and the sitemap."""

from __future__ import annotations

from urllib.parse import quote

# Where each kind of item has its page, under SITE_URL.
PAGE_PATHS = {"Article": "articles", "Topic": "topics", "Expert": "experts"}


def page_url(site_url: str, typename: str, slug: str) -> str:
    """`SITE_URL/articles/<slug>` and the like: where this service shows the item."""
    return f"{site_url.rstrip('/')}/{PAGE_PATHS[typename]}/{quote(slug, safe='')}"


def embed_url(site_url: str, slug: str) -> str:
    """The article's embeddable card."""
    return f"{site_url.rstrip('/')}/embed/articles/{quote(slug, safe='')}"


def feed_url(site_url: str, typename: str | None = None, slug: str | None = None) -> str:
    """The Atom feed of every article, or of a topic's or an expert's."""
    base = f"{site_url.rstrip('/')}/feeds"
    if typename is None or slug is None:
        return f"{base}/articles.atom"
    return f"{base}/{PAGE_PATHS[typename]}/{quote(slug, safe='')}.atom"
