"""Experts' GraphQL types: the expert (with their quotes and articles), the quote, and the
expert connection."""

from __future__ import annotations

from typing import Any

import graphene
from graphql import GraphQLResolveInfo

from api.context import context_of
from api.graphql.articles.body import sections_of
from api.graphql.articles.queries import article_connection, article_list_arguments
from api.graphql.experts.descriptions import EXPERT, QUOTE
from api.graphql.loaders import loaders_of
from api.graphql.relay import Node, bad_input, connection_types
from api.site_urls import page_url
from schema import tables
from schema.keys import Scope
from schema.pagination import MAX_PAGE, PageError


class Expert(graphene.ObjectType):
    """A person articles quote or who reviews them."""

    class Meta:
        interfaces = (Node,)

    slug = graphene.String(required=True, description=EXPERT["slug"])
    url = graphene.String(
        required=True, description="Its page on this site (SITE_URL/experts/<slug>)."
    )
    name = graphene.String(required=True, description=EXPERT["name"])
    version = graphene.Int(
        required=True, description="Bumped by every change (send it as `expectedVersion`)."
    )
    honorific = graphene.String(description=EXPERT["honorific"])
    credentials = graphene.String(description=EXPERT["credentials"])
    specialty = graphene.String(description=EXPERT["specialty"])
    affiliation = graphene.String(description=EXPERT["affiliation"])
    location = graphene.String(description=EXPERT["location"])
    practising_since = graphene.Int(description=EXPERT["practising_since"])
    bio = graphene.String(description=EXPERT["bio"])
    profile_url = graphene.String(description=EXPERT["profile_url"])
    quotes = graphene.List(
        graphene.NonNull(lambda: Quote),
        required=True,
        first=graphene.Int(
            required=True,
            default_value=20,
            description=f"How many, newest article first; at most {MAX_PAGE}.",
        ),
        description="Their quotes in published articles, newest article first.",
    )
    articles = graphene.Field(
        "api.graphql.articles.types.ArticleConnection",
        required=True,
        description="Published articles quoting them or reviewed by them.",
        **article_list_arguments(),
    )

    @staticmethod
    def resolve_url(parent: tables.Expert, info: GraphQLResolveInfo) -> str:
        return page_url(context_of(info).settings.site_url, "Expert", parent.slug)

    @classmethod
    def is_type_of(cls, root: Any, info: GraphQLResolveInfo) -> bool:
        return isinstance(root, tables.Expert)

    @classmethod
    async def get_node(cls, info: GraphQLResolveInfo, id: int) -> tables.Expert | None:
        return await loaders_of(info).expert_by_id.load(id)

    async def resolve_quotes(
        parent: tables.Expert, info: GraphQLResolveInfo, first: int
    ) -> list[tables.Quote]:
        if not 0 <= first <= MAX_PAGE:
            raise bad_input(PageError("first", f"must be between 0 and {MAX_PAGE}"))
        return await loaders_of(info).quotes_by_expert_id.load((parent.id, first))

    async def resolve_articles(parent: tables.Expert, info: GraphQLResolveInfo, **args: Any) -> Any:
        return await article_connection(info, args, expert_id=parent.id)


class Quote(graphene.ObjectType):
    """An expert's words inside an article, tied to the section they appear in."""

    class Meta:
        interfaces = (Node,)

    text = graphene.String(required=True, description=QUOTE["text"])
    context = graphene.String(description=QUOTE["context"])
    expert = graphene.Field(Expert, required=True, description="Who said it.")
    article = graphene.Field(
        "api.graphql.articles.types.Article", required=True, description="Where it appears."
    )
    section_anchor = graphene.String(description="Anchor of the section quoting it.")
    section = graphene.Field(
        "api.graphql.articles.body.Section", description="The section quoting it."
    )

    @classmethod
    def is_type_of(cls, root: Any, info: GraphQLResolveInfo) -> bool:
        return isinstance(root, tables.Quote)

    @classmethod
    async def get_node(cls, info: GraphQLResolveInfo, id: int) -> tables.Quote | None:
        loaders = loaders_of(info)
        if context_of(info).caller.can(Scope.PREVIEW):
            return await loaders.any_quote_by_id.load(id)
        return await loaders.quote_by_id.load(id)

    async def resolve_expert(
        parent: tables.Quote, info: GraphQLResolveInfo
    ) -> tables.Expert | None:
        return await loaders_of(info).expert_by_id.load(parent.expert_id)

    # A quote is only ever reached through an article the caller may see (or node() with the
    # same rule), so its article is loaded whatever its status.
    async def resolve_article(
        parent: tables.Quote, info: GraphQLResolveInfo
    ) -> tables.Article | None:
        return await loaders_of(info).any_article_by_id.load(parent.article_id)

    async def resolve_section(
        parent: tables.Quote, info: GraphQLResolveInfo
    ) -> dict[str, Any] | None:
        article = await loaders_of(info).any_article_by_id.load(parent.article_id)
        if article is None or parent.section_anchor is None:
            return None
        sections = await sections_of(article, info)
        return next((s for s in sections if s["anchor"] == parent.section_anchor), None)


ExpertEdge, ExpertConnection = connection_types(
    "api.graphql.experts.types.Expert", "A page of experts, by name (Relay cursor connection)."
)
