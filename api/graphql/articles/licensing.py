"""Licence and attribution: the terms on which partners may show an article, and how they
must credit it. Each article may set its own; the rest take the service's defaults
(LICENSE_NAME, LICENSE_URL, ATTRIBUTION_TEXT, ATTRIBUTION_HTML)."""

from __future__ import annotations

from html import escape
from typing import Any

import graphene
from graphql import GraphQLResolveInfo

from api.context import context_of
from schema import tables
from schema.inputs import attribution_text_of


class License(graphene.ObjectType):
    """The licence an article is published under."""

    name = graphene.String(required=True, description="Its name, e.g. `CC BY-NC-ND 4.0`.")
    url = graphene.String(description="Where its terms are, if anywhere.")


class Attribution(graphene.ObjectType):
    """How to credit an article wherever it is shown: a line to show next to it, with a
    link back to its canonical page."""

    text = graphene.String(required=True, description="As plain text.")
    html = graphene.String(
        required=True, description="As HTML: links and emphasis only, safe to insert as is."
    )


def license_of(article: tables.Article, info: GraphQLResolveInfo) -> dict[str, Any]:
    if article.license:
        return {"name": article.license["name"], "url": article.license.get("url")}
    settings = context_of(info).settings
    return {"name": settings.license_name, "url": settings.license_url}


def attribution_of(article: tables.Article, url: str, info: GraphQLResolveInfo) -> dict[str, str]:
    """The article's own attribution, or the default: the publisher, linking to `url`."""
    own = article.attribution
    if own:
        text = own["text"]
        return {"text": text, "html": own.get("html") or escape(text)}
    settings = context_of(info).settings
    text, html = settings.attribution_text, settings.attribution_html
    if text is None and html is None:
        publisher = settings.publisher_name
        text = f"Source: {publisher}, {url}"
        html = f'Source: <a href="{escape(url)}">{escape(publisher)}</a>'
    # One of them set: the other says the same.
    elif html is None:
        html = escape(text or "")
    elif text is None:
        text = attribution_text_of(html)
    return {"text": text or "", "html": html}
