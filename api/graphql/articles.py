"""Articles' GraphQL types: the article, its sections, review, references, related posts and
revisions (JSON-LD in article_json_ld.py, queries in article_queries.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import graphene
from graphene.utils.str_converters import to_camel_case
from graphql import GraphQLResolveInfo

from api.graphql.article_json_ld import json_ld
from api.graphql.licensing import Attribution, License, attribution_of, license_of
from api.graphql.loaders import MAX_REVISIONS, when_loaded
from api.graphql.relay import (
    Node,
    bad_input,
    connection_types,
)
from api.graphql.scalars import JSONString
from api.site_urls import page_url
from schema import lookups
from schema.keys import Scope
from schema.lists import ArticleOrder as Order
from schema.pagination import PageError
from schema.tables import Article as ArticleRow
from schema.tables import ArticleStatus as StatusEnum
from schema.tables import RevisionAction as RevisionActionEnum

_STATUS = {
    None: "Where an article is in its life.",
    StatusEnum.DRAFT: "Being written; visible only to editors.",
    StatusEnum.PUBLISHED: "Public.",
    StatusEnum.ARCHIVED: "Withdrawn from lists; kept for the record.",
}
_ORDER = {
    None: "How to order a list of articles.",
    Order.NEWEST: "Most recently published first.",
    Order.OLDEST: "Earliest published first.",
    Order.UPDATED: "Most recently changed first.",
    Order.TITLE: "By title, A to Z, ignoring case (the case of letters outside A-Z only on "
    "PostgreSQL).",
    Order.RELEVANCE: "Best match first, among the 200 newest matches (with `search` only; "
    "`totalCount` counts every match, other orders page through them all).",
}
MAX_RELATED = 20  # the most `relatedPosts` gives at once
# graphene asks the callable for the type's description (None) and each value's.
ArticleStatus = graphene.Enum.from_enum(StatusEnum, description=lambda v: _STATUS[v])
ArticleOrder = graphene.Enum.from_enum(Order, description=lambda v: _ORDER[v])


class BodyFormat(graphene.Enum):
    """The forms an article body can be read in."""

    HTML = "html"
    MARKDOWN = "markdown"
    TEXT = "text"

    @property
    def description(self) -> str:
        return {
            BodyFormat.HTML: "Sanitized HTML, headings carrying their anchors as ids.",
            BodyFormat.MARKDOWN: "The CommonMark source editors wrote.",
            BodyFormat.TEXT: "Plain text, headings included.",
        }[self]


def _same(value: Any) -> Any:
    return value


def _loaders(info: GraphQLResolveInfo) -> Any:
    return info.context.loaders


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
        graphene.NonNull("api.graphql.experts.Quote"),
        required=True,
        description="The expert quotes that appear in this section.",
    )

    def resolve_quotes(parent: dict[str, Any], info: GraphQLResolveInfo) -> Any:
        return when_loaded(
            _loaders(info).quotes_by_article_id.load(parent["article_id"]),
            lambda pairs: [q for q, _ in pairs if q.section_anchor == parent["anchor"]],
        )


class MedicalReview(graphene.ObjectType):
    """Who checked the article's medical content, and when it is due again."""

    reviewer = graphene.Field(
        "api.graphql.experts.Expert", required=True, description="The reviewer."
    )
    reviewed_at = graphene.Date(required=True, description="When it was reviewed.")
    next_review_due = graphene.Date(description="When it should be reviewed again.")
    is_overdue = graphene.Boolean(
        required=True, description="Whether the next review date has passed (UTC)."
    )

    def resolve_reviewer(parent: ArticleRow, info: GraphQLResolveInfo) -> Any:
        return when_loaded(_loaders(info).expert_by_id.load(parent.reviewer_id), _same)

    def resolve_reviewed_at(parent: ArticleRow, info: GraphQLResolveInfo) -> dt.date | None:
        return parent.reviewed_at

    def resolve_next_review_due(parent: ArticleRow, info: GraphQLResolveInfo) -> dt.date | None:
        return parent.next_review_due

    def resolve_is_overdue(parent: ArticleRow, info: GraphQLResolveInfo) -> bool:
        due = parent.next_review_due
        return due is not None and due < dt.datetime.now(dt.UTC).date()


class Reference(graphene.ObjectType):
    """A source the article cites (`[n]` links in the body point to `#ref-<key>`)."""

    key = graphene.String(required=True, description="The key the body cites it by.")
    number = graphene.Int(required=True, description="Its number in the body's [n] links.")
    title = graphene.String(required=True, description="Title of the source.")
    url = graphene.String(description="Where to read it.")
    doi = graphene.String(description="Digital Object Identifier, like 10.1000/xyz.")
    pubmed_id = graphene.String(description="PubMed id (PMID).")
    year = graphene.Int(description="Year of publication.")
    publisher = graphene.String(description="Journal or publisher.")

    def resolve_number(parent: Any, info: GraphQLResolveInfo) -> int:
        return int(parent.position) + 1


class RelatedPost(graphene.ObjectType):
    """A post to read next: a curated link, or an article sharing the most topics."""

    title = graphene.String(required=True, description="Title to show.")
    url = graphene.String(required=True, description="Where it lives.")
    excerpt = graphene.String(description="Teaser text.")
    label = graphene.String(description="A short tag shown on the card (e.g. `kidney stones`).")
    article = graphene.Field(
        lambda: Article, description="The article, when the post is one of ours."
    )


def article_url(article: ArticleRow, info: GraphQLResolveInfo) -> str:
    return article.canonical_url or page_url(
        info.context.settings.site_url, "Article", article.slug
    )


class Article(graphene.ObjectType):
    """A health article: metadata, body in sections, experts quoted, review and sources."""

    class Meta:
        interfaces = (Node,)

    slug = graphene.String(required=True, description="Unique, URL-safe name.")
    title = graphene.String(required=True, description="Headline.")
    summary = graphene.String(description="One-paragraph summary.")
    status = ArticleStatus(required=True, description="Draft, published or archived.")
    published_at = graphene.DateTime(description="When it was first published (UTC).")
    updated_at = graphene.DateTime(required=True, description="When it last changed (UTC).")
    version = graphene.Int(required=True, description="Bumped by every change.")
    url = graphene.String(required=True, description="Canonical URL of the article.")
    canonical_url = graphene.String(
        description="Where the article was first published, when that is not this service "
        "(then `url` is it too); null when its own page here is canonical."
    )
    license = graphene.Field(
        License, required=True, description="The licence it is published under."
    )
    attribution = graphene.Field(
        Attribution, required=True, description="How to credit it wherever it is shown."
    )
    hero_image_url = graphene.String(description="Lead image URL.")
    hero_image_alt = graphene.String(description="Lead image alternative text.")
    hero_image_credit = graphene.String(description="Lead image credit.")
    seo_title = graphene.String(description="Title for search results, if not the headline.")
    seo_description = graphene.String(description="Description for search results.")
    disclaimer = graphene.String(description="Medical disclaimer to show with the article.")
    word_count = graphene.Int(required=True, description="Words in the body, headings included.")
    reading_time_minutes = graphene.Int(required=True, description="At 230 words a minute.")
    body = graphene.String(
        required=True,
        format=BodyFormat(default_value=BodyFormat.HTML.value, description="Which form."),
        description="The whole body in one form.",
    )
    sections = graphene.List(
        graphene.NonNull(Section), required=True, description="The body, section by section."
    )
    table_of_contents = graphene.List(
        graphene.NonNull(TocEntry), required=True, description="The body's headings, in order."
    )
    topics = graphene.List(
        graphene.NonNull("api.graphql.topics.Topic"),
        required=True,
        description="What it is about, in editorial order (primary first if so ordered).",
    )
    primary_topic = graphene.Field("api.graphql.topics.Topic", description="The main topic.")
    quotes = graphene.List(
        graphene.NonNull("api.graphql.experts.Quote"),
        required=True,
        description="Expert quotes in body order.",
    )
    experts = graphene.List(
        graphene.NonNull("api.graphql.experts.Expert"),
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
        graphene.NonNull(Reference), required=True, description="Sources, in citation order."
    )
    json_ld = JSONString(
        required=True,
        description="schema.org MedicalWebPage JSON-LD, ready to put as it is in a "
        "<script type=application/ld+json> element (`<`, `>` and `&` are escaped).",
    )
    revisions = graphene.List(
        graphene.NonNull(lambda: ArticleRevision),
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
        return isinstance(root, ArticleRow)

    @classmethod
    async def get_node(cls, info: GraphQLResolveInfo, id: int) -> ArticleRow | None:
        # A preview key sees drafts by id too (a client refetching what it previewed).
        loaders = _loaders(info)
        if info.context.caller.can(Scope.PREVIEW):
            return await loaders.any_article_by_id.load(id)
        return await loaders.article_by_id.load(id)

    def resolve_license(parent: ArticleRow, info: GraphQLResolveInfo) -> dict[str, Any]:
        return license_of(parent, info)

    def resolve_attribution(parent: ArticleRow, info: GraphQLResolveInfo) -> dict[str, str]:
        return attribution_of(parent, article_url(parent, info), info)

    def resolve_url(parent: ArticleRow, info: GraphQLResolveInfo) -> str:
        return article_url(parent, info)

    async def resolve_body(parent: ArticleRow, info: GraphQLResolveInfo, format: Any) -> str:
        value = getattr(format, "value", format)  # graphene passes the enum member
        text = await _text(parent, info)
        return {"html": text.body_html, "markdown": text.body_markdown}.get(value, text.body_text)

    async def resolve_sections(
        parent: ArticleRow, info: GraphQLResolveInfo
    ) -> list[dict[str, Any]]:
        text = await _text(parent, info)
        return [
            {
                "article_id": parent.id,
                "anchor": s["anchor"],
                "heading": s["heading"],
                "level": s["level"],
                "html": text.body_html[slice(*s["html"])],
                "text": text.body_text[slice(*s["text"])],
                "cites": s["cites"],
            }
            for s in text.sections
        ]

    async def resolve_table_of_contents(parent: ArticleRow, info: GraphQLResolveInfo) -> list[Any]:
        return [
            TocEntry(anchor=s["anchor"], heading=s["heading"], level=s["level"])
            for s in (await _text(parent, info)).sections
            if s["heading"] is not None
        ]

    # Synchronous when a plan fetched the rows ahead (see `when_loaded`).
    def resolve_topics(parent: ArticleRow, info: GraphQLResolveInfo) -> Any:
        return when_loaded(
            _loaders(info).topics_by_article_id.load(parent.id),
            lambda pairs: [topic for topic, _ in pairs],
        )

    def resolve_primary_topic(parent: ArticleRow, info: GraphQLResolveInfo) -> Any:
        return when_loaded(
            _loaders(info).topics_by_article_id.load(parent.id),
            lambda pairs: next((topic for topic, primary in pairs if primary), None),
        )

    def resolve_quotes(parent: ArticleRow, info: GraphQLResolveInfo) -> Any:
        return when_loaded(
            _loaders(info).quotes_by_article_id.load(parent.id),
            lambda pairs: [quote for quote, _ in pairs],
        )

    def resolve_experts(parent: ArticleRow, info: GraphQLResolveInfo) -> Any:
        return when_loaded(
            _loaders(info).quotes_by_article_id.load(parent.id),
            lambda pairs: list({expert.id: expert for _, expert in pairs}.values()),
        )

    async def resolve_related_posts(
        parent: ArticleRow, info: GraphQLResolveInfo, first: int
    ) -> list[RelatedPost]:
        if not 0 <= first <= MAX_RELATED:
            raise bad_input(PageError("first", f"must be between 0 and {MAX_RELATED}"))
        related = await _loaders(info).related_by_article_id.load((parent.id, first))
        posts = []
        for link, target in related.links:
            if link.target_id is not None and target is None:
                continue  # a link to an article that is not published leads nowhere
            posts.append(_related_post(link, target, info))
        posts += [_related_post(None, article, info) for article in related.ranked]
        return posts[:first]

    def resolve_review(parent: ArticleRow, info: GraphQLResolveInfo) -> Any:
        return parent if parent.reviewer_id is not None and parent.reviewed_at else None

    def resolve_references(parent: ArticleRow, info: GraphQLResolveInfo) -> Any:
        return when_loaded(_loaders(info).references_by_article_id.load(parent.id), _same)

    async def resolve_json_ld(parent: ArticleRow, info: GraphQLResolveInfo) -> dict[str, Any]:
        return await json_ld(parent, article_url(parent, info), info)  # JSONString serializes

    async def resolve_revisions(
        parent: ArticleRow, info: GraphQLResolveInfo, first: int
    ) -> list[Any]:
        info.context.caller.require(Scope.PREVIEW, "`revisions`")
        if not 0 <= first <= MAX_REVISIONS:
            raise bad_input(PageError("first", f"must be between 0 and {MAX_REVISIONS}"))
        revisions = await _loaders(info).revisions_by_article_id.load(parent.id)
        return revisions[:first]


_ACTIONS = {
    None: "What a revision did to the article.",
    RevisionActionEnum.CREATE: "Created it (through the API).",
    RevisionActionEnum.UPDATE: "Changed its content.",
    RevisionActionEnum.PUBLISH: "Published it.",
    RevisionActionEnum.UNPUBLISH: "Took it back to draft.",
    RevisionActionEnum.ARCHIVE: "Archived it.",
    RevisionActionEnum.DELETE: "Deleted it (the snapshot is what was deleted).",
    RevisionActionEnum.LOAD: "Wrote it from content files (the seed loader).",
}
RevisionAction = graphene.Enum.from_enum(RevisionActionEnum, description=lambda v: _ACTIONS[v])


def _camel_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {to_camel_case(k): _camel_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_camel_keys(v) for v in value]
    return value


class ArticleRevision(graphene.ObjectType):
    """One version of an article, as its editor wrote it."""

    version = graphene.Int(required=True, description="The article's version after the change.")
    action = RevisionAction(required=True, description="What the change was.")
    changed_by = graphene.String(required=True, description="The API key's name, or `seed loader`.")
    changed_at = graphene.DateTime(required=True, description="When (UTC).")
    title = graphene.String(required=True, description="The title in this version.")
    status = ArticleStatus(required=True, description="The status in this version.")
    body = graphene.String(required=True, description="The Markdown body in this version.")
    snapshot = JSONString(
        required=True,
        description="The whole version in input form (what createArticle takes): metadata, "
        "body, topics, quotes, references, related links, review.",
    )

    def resolve_snapshot(parent: Any, info: GraphQLResolveInfo) -> Any:
        return _camel_keys(parent.snapshot)

    def resolve_title(parent: Any, info: GraphQLResolveInfo) -> str:
        return str(parent.snapshot["title"])

    def resolve_status(parent: Any, info: GraphQLResolveInfo) -> str:
        return str(parent.snapshot["status"])

    def resolve_body(parent: Any, info: GraphQLResolveInfo) -> str:
        return str(parent.snapshot["body"])


async def _text(article: ArticleRow, info: GraphQLResolveInfo) -> Any:
    """The article's body and sections: on the row when it was read whole (a page), else
    read for every article of the response in one statement (a list)."""
    if lookups.has_text(article):
        return article
    text = await _loaders(info).article_text_by_id.load(article.id)
    # Deleted between the list's statement and this one: show it without text rather than
    # fail the whole list (the fields are non-null).
    return text if text is not None else lookups.ArticleText("", "", "", [])


def _related_post(link: Any, target: ArticleRow | None, info: GraphQLResolveInfo) -> RelatedPost:
    return RelatedPost(
        title=(link.title if link and link.title else None) or (target.title if target else ""),
        url=(link.url if link and link.url else None) or article_url(target, info),  # type: ignore[arg-type]
        excerpt=(link.excerpt if link else None) or (target.summary if target else None),
        label=link.label if link else None,
        article=target,
    )


ArticleEdge, ArticleConnection = connection_types(
    "api.graphql.articles.Article", "A page of articles (Relay cursor connection)."
)
