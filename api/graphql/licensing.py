"""Licence and attribution: the terms on which partners may show an article, and how they
must credit it. Each article may set its own; the rest take the service's defaults
(LICENSE_NAME, LICENSE_URL, ATTRIBUTION_TEXT, ATTRIBUTION_HTML)."""

from __future__ import annotations

from html import escape
from typing import Any

import graphene
from graphql import GraphQLResolveInfo


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


def license_of(article: Any, info: GraphQLResolveInfo) -> dict[str, Any]:
    if article.license:
        return {"name": article.license["name"], "url": article.license.get("url")}
    settings = info.context.settings
    return {"name": settings.license_name, "url": settings.license_url}


def attribution_of(article: Any, url: str, info: GraphQLResolveInfo) -> dict[str, str]:
    """The article's own attribution, or the default: the publisher, linking to `url`."""
    own = article.attribution
    if own:
        text = own["text"]
        return {"text": text, "html": own.get("html") or escape(text)}
    settings = info.context.settings
    publisher = settings.publisher_name
    text = settings.attribution_text or f"Source: {publisher}, {url}"
    html = settings.attribution_html or (f'Source: <a href="{escape(url)}">{escape(publisher)}</a>')
    return {"text": text, "html": html}
