"""Experts and their quotes: the types and expert queries."""

from __future__ import annotations

from typing import Any

import graphene
from graphql import GraphQLResolveInfo

from api.graphql.article_queries import article_connection, article_list_arguments
from api.graphql.relay import (
    Node,
    bad_input,
    connection_types,
    page_arguments,
    paged,
)
from api.site_urls import page_url
from schema import lists
from schema.keys import Scope
from schema.pagination import MAX_PAGE, PageError
from schema.tables import Expert as ExpertRow
from schema.tables import Quote as QuoteRow


class Expert(graphene.ObjectType):
    """A person articles quote or who reviews them."""

    class Meta:
        interfaces = (Node,)

    slug = graphene.String(required=True, description="Unique, URL-safe name.")
    url = graphene.String(
        required=True, description="Its page on this site (SITE_URL/experts/<slug>)."
    )
    name = graphene.String(required=True, description="Full name, without honorific.")
    version = graphene.Int(
        required=True, description="Bumped by every change (send it as `expectedVersion`)."
    )
    honorific = graphene.String(description="Like `Dr.`")
    credentials = graphene.String(description="Like `MD, PhD`.")
    specialty = graphene.String(description="What they specialise in.")
    affiliation = graphene.String(description="Where they work.")
    location = graphene.String(description="Where they are based.")
    practising_since = graphene.Int(description="Year they started practising.")
    bio = graphene.String(description="Short biography.")
    profile_url = graphene.String(description="Their profile page.")
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
        "api.graphql.articles.ArticleConnection",
        required=True,
        description="Published articles quoting them or reviewed by them.",
        **article_list_arguments(),
    )

    @staticmethod
    def resolve_url(parent: ExpertRow, info: GraphQLResolveInfo) -> str:
        return page_url(info.context.settings.site_url, "Expert", parent.slug)

    @classmethod
    def is_type_of(cls, root: Any, info: GraphQLResolveInfo) -> bool:
        return isinstance(root, ExpertRow)

    @classmethod
    async def get_node(cls, info: GraphQLResolveInfo, id: int) -> ExpertRow | None:
        return await info.context.loaders.expert_by_id.load(id)

    async def resolve_quotes(parent: ExpertRow, info: GraphQLResolveInfo, first: int) -> list[Any]:
        if not 0 <= first <= MAX_PAGE:
            raise bad_input(PageError("first", f"must be between 0 and {MAX_PAGE}"))
        return await info.context.loaders.quotes_by_expert_id.load((parent.id, first))

    async def resolve_articles(parent: ExpertRow, info: GraphQLResolveInfo, **args: Any) -> Any:
        return await article_connection(info, args, expert_id=parent.id)


class Quote(graphene.ObjectType):
    """An expert's words inside an article, tied to the section they appear in."""

    class Meta:
        interfaces = (Node,)

    text = graphene.String(required=True, description="The quoted words.")
    context = graphene.String(
        description="Attribution around them, like `says Rapson, who runs a busy Toronto "
        "pain clinic`."
    )
    expert = graphene.Field(Expert, required=True, description="Who said it.")
    article = graphene.Field(
        "api.graphql.articles.Article", required=True, description="Where it appears."
    )
    section_anchor = graphene.String(description="Anchor of the section quoting it.")
    section = graphene.Field("api.graphql.articles.Section", description="The section quoting it.")

    @classmethod
    def is_type_of(cls, root: Any, info: GraphQLResolveInfo) -> bool:
        return isinstance(root, QuoteRow)

    @classmethod
    async def get_node(cls, info: GraphQLResolveInfo, id: int) -> QuoteRow | None:
        loaders = info.context.loaders
        if info.context.caller.can(Scope.PREVIEW):
            return await loaders.any_quote_by_id.load(id)
        return await loaders.quote_by_id.load(id)

    async def resolve_expert(parent: QuoteRow, info: GraphQLResolveInfo) -> Any:
        return await info.context.loaders.expert_by_id.load(parent.expert_id)

    # A quote is only ever reached through an article the caller may see (or node() with the
    # same rule), so its article is loaded whatever its status.
    async def resolve_article(parent: QuoteRow, info: GraphQLResolveInfo) -> Any:
        return await info.context.loaders.any_article_by_id.load(parent.article_id)

    async def resolve_section(parent: QuoteRow, info: GraphQLResolveInfo) -> Any:
        from api.graphql.articles import Article

        article = await info.context.loaders.any_article_by_id.load(parent.article_id)
        if article is None or parent.section_anchor is None:
            return None
        sections = await Article.resolve_sections(article, info)
        return next((s for s in sections if s["anchor"] == parent.section_anchor), None)


ExpertEdge, ExpertConnection = connection_types(
    "api.graphql.experts.Expert", "A page of experts, by name (Relay cursor connection)."
)


class ExpertQueries(graphene.ObjectType):
    """Expert lookups and lists."""

    expert = graphene.Field(
        Expert,
        slug=graphene.String(required=True, description="The expert's slug."),
        description="An expert by slug; null if there is none.",
    )
    experts = graphene.Field(
        ExpertConnection,
        required=True,
        description="All experts by name, a page at a time.",
        **page_arguments(),
    )

    async def resolve_expert(root: Any, info: GraphQLResolveInfo, slug: str) -> Any:
        return await info.context.loaders.expert_by_slug.load(slug)

    async def resolve_experts(root: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
        return await paged(
            info,
            ExpertConnection,
            args,
            lambda session, page: lists.expert_page(session=session, page=page),
        )
