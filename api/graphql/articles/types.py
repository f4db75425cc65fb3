"""Articles' GraphQL types: the article, its medical review, references and related posts,
and the article connection (its body in `body`, revisions in `revisions`, JSON-LD in
`json_ld`, licence and attribution in `licensing`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import graphene
from graphql import GraphQLResolveInfo

from api.context import context_of
from api.graphql.articles.body import Section, TocEntry, body_of, sections_of, table_of_contents
from api.graphql.articles.descriptions import ARTICLE, REFERENCE, RELATED_POST, REVIEW
from api.graphql.articles.enums import ArticleStatus, BodyFormat
from api.graphql.articles.json_ld import json_ld
from api.graphql.articles.licensing import Attribution, License, attribution_of, license_of
from api.graphql.articles.revisions import ArticleRevision
from api.graphql.loaders import MAX_REVISIONS, loaders_of, when_loaded
from api.graphql.relay import Node, bad_input, connection_types
from api.graphql.scalars import JSONString
from api.site_urls import page_url
from schema import tables
from schema.keys import Scope
from schema.pagination import PageError

MAX_RELATED = 20  # the most `relatedPosts` gives at once


def _same(value: Any) -> Any:
    return value


class MedicalReview(graphene.ObjectType):
    """Who checked the article's medical content, and when it is due again."""

    reviewer = graphene.Field(
        "api.graphql.experts.types.Expert", required=True, description="The reviewer."
    )
    reviewed_at = graphene.Date(required=True, description=REVIEW["reviewed_at"])
    next_review_due = graphene.Date(description=REVIEW["next_review_due"])
    is_overdue = graphene.Boolean(
        required=True, description="Whether the next review date has passed (UTC)."
    )

    def resolve_reviewer(parent: tables.Article, info: GraphQLResolveInfo) -> Any:
        assert parent.reviewer_id is not None  # a review is shown only with its reviewer
        return when_loaded(loaders_of(info).expert_by_id.load(parent.reviewer_id), _same)

    def resolve_reviewed_at(parent: tables.Article, info: GraphQLResolveInfo) -> dt.date | None:
        return parent.reviewed_at

    def resolve_next_review_due(parent: tables.Article, info: GraphQLResolveInfo) -> dt.date | None:
        return parent.next_review_due

    def resolve_is_overdue(parent: tables.Article, info: GraphQLResolveInfo) -> bool:
        due = parent.next_review_due
        return due is not None and due < dt.datetime.now(dt.UTC).date()


class Reference(graphene.ObjectType):
    """A source the article cites (`[n]` links in the body point to `#ref-<key>`)."""

    key = graphene.String(required=True, description=REFERENCE["key"])
    number = graphene.Int(required=True, description="Its number in the body's [n] links.")
    title = graphene.String(required=True, description=REFERENCE["title"])
    url = graphene.String(description=REFERENCE["url"])
    doi = graphene.String(description=REFERENCE["doi"])
    pubmed_id = graphene.String(description=REFERENCE["pubmed_id"])
    year = graphene.Int(description=REFERENCE["year"])
    publisher = graphene.String(description=REFERENCE["publisher"])

    def resolve_number(parent: tables.Reference, info: GraphQLResolveInfo) -> int:
        return int(parent.position) + 1


class RelatedPost(graphene.ObjectType):
    """A post to read next: a curated link, or an article sharing the most topics."""

    title = graphene.String(required=True, description="Title to show.")
    url = graphene.String(required=True, description="Where it lives.")
    excerpt = graphene.String(description=RELATED_POST["excerpt"])
    label = graphene.String(description=RELATED_POST["label"])
    article = graphene.Field(
        lambda: Article, description="The article, when the post is one of ours."
    )


def article_url(article: tables.Article, info: GraphQLResolveInfo) -> str:
    return article.canonical_url or page_url(
        context_of(info).settings.site_url, "Article", article.slug
    )


class Article(graphene.ObjectType):
    """A health article: metadata, body in sections, experts quoted, review and sources."""

    class Meta:
        interfaces = (Node,)

    slug = graphene.String(required=True, description=ARTICLE["slug"])
    title = graphene.String(required=True, description=ARTICLE["title"])
    summary = graphene.String(description=ARTICLE["summary"])
    status = ArticleStatus(required=True, description="Draft, published or archived.")
    published_at = graphene.DateTime(description=ARTICLE["published_at"])
    updated_at = graphene.DateTime(required=True, description="When it last changed (UTC).")
    version = graphene.Int(required=True, description="Bumped by every change.")
    url = graphene.String(required=True, description="Canonical URL of the article.")
    canonical_url = graphene.String(description=ARTICLE["canonical_url"])
    license = graphene.Field(
        License, required=True, description="The licence it is published under."
    )
    attribution = graphene.Field(
        Attribution, required=True, description="How to credit it wherever it is shown."
    )
    hero_image_url = graphene.String(description=ARTICLE["hero_image_url"])
    hero_image_alt = graphene.String(description=ARTICLE["hero_image_alt"])
    hero_image_credit = graphene.String(description=ARTICLE["hero_image_credit"])
    seo_title = graphene.String(description=ARTICLE["seo_title"])
    seo_description = graphene.String(description=ARTICLE["seo_description"])
    disclaimer = graphene.String(description=ARTICLE["disclaimer"])
    word_count = graphene.Int(required=True, description="Words in the body, headings included.")
    reading_time_minutes = graphene.Int(required=True, description="At 230 words a minute.")
    body = graphene.String(
        required=True,
        # BodyFormat.HTML's value (graphene's metaclass makes the member; mypy sees a str)
        format=BodyFormat(default_value="html", description="Which form."),
        description="The whole body in one form.",
    )
    sections = graphene.List(
        graphene.NonNull(Section), required=True, description="The body, section by section."
    )
    table_of_contents = graphene.List(
        graphene.NonNull(TocEntry), required=True, description="The body's headings, in order."
    )
    topics = graphene.List(
        graphene.NonNull("api.graphql.topics.types.Topic"),
        required=True,
        description="What it is about, in editorial order (primary first if so ordered).",
    )
    primary_topic = graphene.Field("api.graphql.topics.types.Topic", description="The main topic.")
    quotes = graphene.List(
        graphene.NonNull("api.graphql.experts.types.Quote"),
        required=True,
        description=ARTICLE["quotes"],
    )
    experts = graphene.List(
        graphene.NonNull("api.graphql.experts.types.Expert"),
        required=True,
        description="Experts quoted, each once, in order of first quote.",
    )
    related_posts = graphene.List(
        graphene.NonNull(RelatedPost),
        required=True,
        first=graphene.Int(
            required=True, default_value=3, description=f"How many, at most {MAX_RELATED}."
        ),
        description="Curated related posts first, then articles sharing the most topics.",
    )
    review = graphene.Field(MedicalReview, description="Medical review, if reviewed.")
    references = graphene.List(
        graphene.NonNull(Reference), required=True, description=ARTICLE["references"]
    )
    json_ld = JSONString(
        required=True,
        description="schema.org MedicalWebPage JSON-LD, ready to put as it is in a "
        "<script type=application/ld+json> element (`<`, `>` and `&` are escaped).",
    )
    revisions = graphene.List(
        graphene.NonNull(ArticleRevision),
        first=graphene.Int(
            required=True,
            default_value=20,
            description=f"How many, newest first; at most {MAX_REVISIONS}.",
        ),
        description="Every version of the article, newest first: who changed it, when, and "
        "what it was. Needs a key with the `preview` scope (null and FORBIDDEN otherwise).",
    )

    @classmethod
    def is_type_of(cls, root: Any, info: GraphQLResolveInfo) -> bool:
        return isinstance(root, tables.Article)

    @classmethod
    async def get_node(cls, info: GraphQLResolveInfo, id: int) -> tables.Article | None:
        # A preview key sees drafts by id too (a client refetching what it previewed).
        loaders = loaders_of(info)
        if context_of(info).caller.can(Scope.PREVIEW):
            return await loaders.any_article_by_id.load(id)
        return await loaders.article_by_id.load(id)

    def resolve_license(parent: tables.Article, info: GraphQLResolveInfo) -> dict[str, Any]:
        return license_of(parent, info)

    def resolve_attribution(parent: tables.Article, info: GraphQLResolveInfo) -> dict[str, str]:
        return attribution_of(parent, article_url(parent, info), info)

    def resolve_url(parent: tables.Article, info: GraphQLResolveInfo) -> str:
        return article_url(parent, info)

    async def resolve_body(parent: tables.Article, info: GraphQLResolveInfo, format: Any) -> str:
        return await body_of(parent, info, format)

    async def resolve_sections(
        parent: tables.Article, info: GraphQLResolveInfo
    ) -> list[dict[str, Any]]:
        return await sections_of(parent, info)

    async def resolve_table_of_contents(
        parent: tables.Article, info: GraphQLResolveInfo
    ) -> list[TocEntry]:
        return await table_of_contents(parent, info)

    # Synchronous when a plan fetched the rows ahead (see `when_loaded`).
    def resolve_topics(parent: tables.Article, info: GraphQLResolveInfo) -> Any:
        return when_loaded(
            loaders_of(info).topics_by_article_id.load(parent.id),
            lambda pairs: [topic for topic, _ in pairs],
        )

    def resolve_primary_topic(parent: tables.Article, info: GraphQLResolveInfo) -> Any:
        return when_loaded(
            loaders_of(info).topics_by_article_id.load(parent.id),
            lambda pairs: next((topic for topic, primary in pairs if primary), None),
        )

    def resolve_quotes(parent: tables.Article, info: GraphQLResolveInfo) -> Any:
        return when_loaded(
            loaders_of(info).quotes_by_article_id.load(parent.id),
            lambda pairs: [quote for quote, _ in pairs],
        )

    def resolve_experts(parent: tables.Article, info: GraphQLResolveInfo) -> Any:
        return when_loaded(
            loaders_of(info).quotes_by_article_id.load(parent.id),
            lambda pairs: list({expert.id: expert for _, expert in pairs}.values()),
        )

    async def resolve_related_posts(
        parent: tables.Article, info: GraphQLResolveInfo, first: int
    ) -> list[RelatedPost]:
        if not 0 <= first <= MAX_RELATED:
            raise bad_input(PageError("first", f"must be between 0 and {MAX_RELATED}"))
        related = await loaders_of(info).related_by_article_id.load((parent.id, first))
        posts = []
        for link, target in related.links:
            if link.target_id is not None and target is None:
                continue  # a link to an article that is not published leads nowhere
            posts.append(_related_post(link, target, info))
        posts += [_related_post(None, article, info) for article in related.ranked]
        return posts[:first]

    def resolve_review(parent: tables.Article, info: GraphQLResolveInfo) -> Any:
        return parent if parent.reviewer_id is not None and parent.reviewed_at else None

    def resolve_references(parent: tables.Article, info: GraphQLResolveInfo) -> Any:
        return when_loaded(loaders_of(info).references_by_article_id.load(parent.id), _same)

    async def resolve_json_ld(parent: tables.Article, info: GraphQLResolveInfo) -> dict[str, Any]:
        return await json_ld(parent, article_url(parent, info), info)  # JSONString serializes

    async def resolve_revisions(
        parent: tables.Article, info: GraphQLResolveInfo, first: int
    ) -> list[tables.ArticleRevision]:
        context_of(info).caller.require(Scope.PREVIEW, "`revisions`")
        if not 0 <= first <= MAX_REVISIONS:
            raise bad_input(PageError("first", f"must be between 0 and {MAX_REVISIONS}"))
        revisions = await loaders_of(info).revisions_by_article_id.load(parent.id)
        return revisions[:first]


def _related_post(
    link: tables.RelatedLink | None, target: tables.Article | None, info: GraphQLResolveInfo
) -> RelatedPost:
    if link is not None and link.url:
        url = link.url
    else:
        assert target is not None  # a curated link has a `url` or a target (published)
        url = article_url(target, info)
    return RelatedPost(
        title=(link.title if link and link.title else None) or (target.title if target else ""),
        url=url,
        excerpt=(link.excerpt if link else None) or (target.summary if target else None),
        label=link.label if link else None,
        article=target,
    )


ArticleEdge, ArticleConnection = connection_types(
    "api.graphql.articles.types.Article", "A page of articles (Relay cursor connection)."
)
