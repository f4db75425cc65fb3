"""An article's body as GraphQL reads it: in one form, in sections, as a table of contents.
The text is on the row when the article was read whole (a page), else loaded for every
article of the answer in one statement (a list)."""

from __future__ import annotations

from typing import Any

import graphene
from graphql import GraphQLResolveInfo

from api.graphql.enums import value_of
from api.graphql.loaders import loaders_of, when_loaded
from schema import lookups, tables


class TocEntry(graphene.ObjectType):
    """One heading of an article, for a table of contents."""

    anchor = graphene.String(required=True, description="Fragment id of the heading (#anchor).")
    heading = graphene.String(required=True, description="The heading's text.")
    level = graphene.Int(required=True, description="Heading level: 2 for ##, 3 for ###...")


class Section(graphene.ObjectType):
    """A run of the body under one heading (or the untitled lead before the first heading)."""

    anchor = graphene.String(required=True, description="Fragment id; `introduction` for the lead.")
    heading = graphene.String(description="The heading's text; null for the untitled lead.")
    level = graphene.Int(required=True, description="Heading level; 0 for the lead.")
    html = graphene.String(required=True, description="Sanitized HTML, heading excluded.")
    text = graphene.String(required=True, description="Plain text, heading excluded.")
    cites = graphene.List(
        graphene.NonNull(graphene.String),
        required=True,
        description="Keys of the references this section cites, in order of first citation.",
    )
    quotes = graphene.List(
        graphene.NonNull("api.graphql.experts.types.Quote"),
        required=True,
        description="The expert quotes that appear in this section.",
    )

    def resolve_quotes(parent: dict[str, Any], info: GraphQLResolveInfo) -> Any:
        return when_loaded(
            loaders_of(info).quotes_by_article_id.load(parent["article_id"]),
            lambda pairs: [q for q, _ in pairs if q.section_anchor == parent["anchor"]],
        )


async def text_of(
    article: tables.Article, info: GraphQLResolveInfo
) -> tables.Article | lookups.ArticleText:
    """The article's body and sections: on the row when it was read whole (a page), else
    read for every article of the response in one statement (a list)."""
    if lookups.has_text(article):
        return article
    text = await loaders_of(info).article_text_by_id.load(article.id)
    # Deleted between the list's statement and this one: show it without text rather than
    # fail the whole list (the fields are non-null).
    return text if text is not None else lookups.ArticleText("", "", "", [])


async def body_of(article: tables.Article, info: GraphQLResolveInfo, format: Any) -> str:
    """The whole body in `format` (a `BodyFormat`)."""
    text = await text_of(article, info)
    value = value_of(format)
    return {"html": text.body_html, "markdown": text.body_markdown}.get(value, text.body_text)


async def sections_of(article: tables.Article, info: GraphQLResolveInfo) -> list[dict[str, Any]]:
    """The body's sections, as `Section` resolves them."""
    text = await text_of(article, info)
    return [
        {
            "article_id": article.id,
            "anchor": s["anchor"],
            "heading": s["heading"],
            "level": s["level"],
            "html": text.body_html[slice(*s["html"])],
            "text": text.body_text[slice(*s["text"])],
            "cites": s["cites"],
        }
        for s in text.sections
    ]


async def table_of_contents(article: tables.Article, info: GraphQLResolveInfo) -> list[TocEntry]:
    """The body's headings, in order (the untitled lead has none)."""
    return [
        TocEntry(anchor=s["anchor"], heading=s["heading"], level=s["level"])
        for s in (await text_of(article, info)).sections
        if s["heading"] is not None
    ]
