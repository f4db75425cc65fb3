"""Article mutations (scope `write`): create, update, publish, unpublish, archive and delete,
with their inputs and payloads.

Every mutation answers with a payload: the article as stored after the edit, and `errors`
(field, message, code) when it was refused, in which case nothing changed. Validation and
writing are `schema.edits`: the seed loader's path, one item at a time.
"""

from __future__ import annotations

from typing import Any

import graphene
from graphql import GraphQLResolveInfo

from api.graphql.articles.descriptions import (
    ARTICLE,
    ATTRIBUTION,
    LICENSE,
    REFERENCE,
    RELATED_POST,
    REVIEW,
)
from api.graphql.articles.enums import ArticleStatus
from api.graphql.articles.types import Article
from api.graphql.experts.descriptions import QUOTE
from api.graphql.input_types import InputSpec, input_types
from api.graphql.payloads import (
    answer,
    create_field,
    edit_errors,
    errors_field,
    expected_version_argument,
    run_edit,
    slug_argument,
    update_field,
)
from schema import edits, tables

String, Int = graphene.String, graphene.Int


def _list(of: Any) -> graphene.List:
    return graphene.List(graphene.NonNull(of))


class QuoteInput(graphene.InputObjectType):
    """An expert's words in the article. The text must appear in the body."""

    expert = graphene.InputField(graphene.NonNull(String), description="The expert's slug.")
    text = graphene.InputField(graphene.NonNull(String), description=QUOTE["text"])
    context = graphene.InputField(String, description=QUOTE["context"])
    section = graphene.InputField(
        String, description="Anchor of the section quoting them; found from the text if left out."
    )


class ReferenceInput(graphene.InputObjectType):
    """A cited source; cite it in the body as `[@key]`."""

    key = graphene.InputField(graphene.NonNull(String), description=REFERENCE["key"])
    title = graphene.InputField(graphene.NonNull(String), description=REFERENCE["title"])
    url = graphene.InputField(String, description=REFERENCE["url"])
    doi = graphene.InputField(String, description=REFERENCE["doi"])
    pubmed_id = graphene.InputField(String, description=REFERENCE["pubmed_id"])
    year = graphene.InputField(Int, description=REFERENCE["year"])
    publisher = graphene.InputField(String, description=REFERENCE["publisher"])


class RelatedLinkInput(graphene.InputObjectType):
    """A curated related post: one of our articles (`article`) or an outside `url`."""

    article = graphene.InputField(String, description="Slug of the related article.")
    url = graphene.InputField(String, description="An outside URL (needs a `title`).")
    title = graphene.InputField(String, description="Title to show instead of the article's.")
    label = graphene.InputField(String, description=RELATED_POST["label"])
    excerpt = graphene.InputField(String, description=RELATED_POST["excerpt"])


class ReviewInput(graphene.InputObjectType):
    """Medical review: who reviewed the article and when."""

    reviewer = graphene.InputField(graphene.NonNull(String), description="The expert's slug.")
    reviewed_at = graphene.InputField(
        graphene.NonNull(graphene.Date), description=REVIEW["reviewed_at"]
    )
    next_review_due = graphene.InputField(graphene.Date, description=REVIEW["next_review_due"])


class LicenseInput(graphene.InputObjectType):
    """The licence the article is published under (instead of the service's default)."""

    name = graphene.InputField(graphene.NonNull(String), description=LICENSE["name"])
    url = graphene.InputField(String, description=LICENSE["url"])


class AttributionInput(graphene.InputObjectType):
    """How partners must credit the article (instead of the service's default)."""

    text = graphene.InputField(graphene.NonNull(String), description=ATTRIBUTION["text"])
    html = graphene.InputField(
        String, description="As HTML: links and emphasis are kept, anything else removed."
    )


ArticleInput, ArticlePatch = input_types(
    "Article",
    "An article: metadata, Markdown body, topics, quotes, references, related links, review.",
    {
        "slug": InputSpec(String, required=True),
        "title": InputSpec(String, required=True),
        "summary": InputSpec(String),
        "body": InputSpec(
            String, required=True, description="CommonMark body; `## headings` make sections."
        ),
        "status": InputSpec(
            ArticleStatus,
            in_patch=False,
            description="DRAFT (the default) or PUBLISHED or ARCHIVED; later, use the publish, "
            "unpublish and archive mutations.",
        ),
        "published_at": InputSpec(graphene.DateTime),
        "canonical_url": InputSpec(String),
        "hero_image_url": InputSpec(String),
        "hero_image_alt": InputSpec(String),
        "hero_image_credit": InputSpec(String),
        "seo_title": InputSpec(String),
        "seo_description": InputSpec(String),
        "disclaimer": InputSpec(String),
        "topics": InputSpec(_list(String), description="Topic slugs, in editorial order."),
        "primary_topic": InputSpec(
            String, description="The main topic's slug (default: the first)."
        ),
        "quotes": InputSpec(_list(QuoteInput)),
        "references": InputSpec(_list(ReferenceInput)),
        "related": InputSpec(
            _list(RelatedLinkInput), description="Curated related posts, in order."
        ),
        "review": InputSpec(ReviewInput, description="Medical review (null removes it)."),
        "license": InputSpec(
            LicenseInput, description="Its own licence (null: the service's default)."
        ),
        "attribution": InputSpec(
            AttributionInput, description="Its own attribution (null: the service's default)."
        ),
    },
    ARTICLE,
)


class ArticlePayload(graphene.ObjectType):
    """The result of an article edit."""

    article = graphene.Field(Article, description="The article as stored now; null if refused.")
    errors = errors_field()


class DeleteArticlePayload(graphene.ObjectType):
    """The result of deleting an article."""

    deleted_slug = graphene.String(description="Slug of the deleted article; null if refused.")
    errors = errors_field()


_STATUS_CHANGES = {
    tables.ArticleStatus.PUBLISHED: "Publish an article (dated now unless it has a date).",
    tables.ArticleStatus.DRAFT: "Take a published or archived article back to draft.",
    tables.ArticleStatus.ARCHIVED: "Archive an article: out of every public list, kept for "
    "the record.",
}


def _status_field(status: tables.ArticleStatus, verb: str) -> graphene.Field:
    async def resolve(
        root: Any, info: GraphQLResolveInfo, slug: str, expected_version: int | None = None
    ) -> Any:
        return await answer(
            info,
            f"{verb}Article",
            lambda engine, actor: edits.set_article_status(
                engine=engine,
                slug=slug,
                status=status,
                expected_version=expected_version,
                actor=actor,
            ),
            ArticlePayload,
            "article",
            None,
        )

    return graphene.Field(
        ArticlePayload,
        slug=slug_argument(),
        expected_version=expected_version_argument(required=False),
        resolver=resolve,
        description=_STATUS_CHANGES[status] + " Needs the `write` scope.",
    )


class ArticleMutations(graphene.ObjectType):
    """Article edits."""

    create_article = create_field(
        mutation="createArticle",
        input_type=ArticleInput,
        payload=ArticlePayload,
        field="article",
        create=edits.create_article,
        description="Create an article (a draft unless `status` says otherwise).",
    )
    update_article = update_field(
        mutation="updateArticle",
        patch_type=ArticlePatch,
        payload=ArticlePayload,
        field="article",
        update=edits.update_article,
        description="Change an article's fields (a new version, kept in `revisions`).",
    )
    publish_article = _status_field(tables.ArticleStatus.PUBLISHED, "publish")
    unpublish_article = _status_field(tables.ArticleStatus.DRAFT, "unpublish")
    archive_article = _status_field(tables.ArticleStatus.ARCHIVED, "archive")
    delete_article = graphene.Field(
        DeleteArticlePayload,
        slug=slug_argument(),
        expected_version=expected_version_argument(required=False),
        description="Delete an article for good (its revisions stay). Refused while other "
        "articles list it as a related post.",
    )

    async def resolve_delete_article(
        root: Any, info: GraphQLResolveInfo, slug: str, expected_version: int | None = None
    ) -> DeleteArticlePayload:
        result = await run_edit(
            info,
            "deleteArticle",
            lambda engine, actor: edits.delete_article(
                engine=engine, slug=slug, expected_version=expected_version, actor=actor
            ),
        )
        return DeleteArticlePayload(
            deleted_slug=result.row.slug if result.row is not None else None,
            errors=edit_errors(result.problems, None),
        )
