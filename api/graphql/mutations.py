"""Editorial mutations (scope `write`): articles, topics and experts.

Every mutation answers with a payload: the item as stored after the edit, and `errors`
(field, message, code) when it was refused, in which case nothing changed. Validation and
writing are `schema.editing`'s, the same as the seed loader's.
"""

from __future__ import annotations

from typing import Any

import graphene
from graphql import GraphQLResolveInfo

from api.graphql.articles import Article, ArticleStatus
from api.graphql.edits import InputSpec, edit_errors, errors_field, input_types, plain, run_edit
from api.graphql.experts import Expert
from api.graphql.topics import Topic, TopicKind
from schema import editing
from schema.tables import Article as ArticleRow
from schema.tables import ArticleStatus as StatusEnum
from schema.tables import Expert as ExpertRow
from schema.tables import Topic as TopicRow

String, Int = graphene.String, graphene.Int


def _list(of: Any) -> graphene.List:
    return graphene.List(graphene.NonNull(of))


class QuoteInput(graphene.InputObjectType):
    """An expert's words in the article. The text must appear in the body."""

    expert = graphene.InputField(graphene.NonNull(String), description="The expert's slug.")
    text = graphene.InputField(graphene.NonNull(String), description="The words, as in the body.")
    context = graphene.InputField(String, description="Attribution, like `says Rapson, ...`.")
    section = graphene.InputField(
        String, description="Anchor of the section quoting them; found from the text if left out."
    )


class ReferenceInput(graphene.InputObjectType):
    """A cited source; cite it in the body as `[@key]`."""

    key = graphene.InputField(graphene.NonNull(String), description="Key the body cites it by.")
    title = graphene.InputField(graphene.NonNull(String), description="Title of the source.")
    url = graphene.InputField(String, description="Where to read it (http or https).")
    doi = graphene.InputField(String, description="DOI, like 10.1000/xyz.")
    pubmed_id = graphene.InputField(String, description="PubMed id (digits).")
    year = graphene.InputField(Int, description="Year of publication.")
    publisher = graphene.InputField(String, description="Journal or publisher.")


class RelatedLinkInput(graphene.InputObjectType):
    """A curated related post: one of our articles (`article`) or an outside `url`."""

    article = graphene.InputField(String, description="Slug of the related article.")
    url = graphene.InputField(String, description="An outside URL (needs a `title`).")
    title = graphene.InputField(String, description="Title to show instead of the article's.")
    label = graphene.InputField(String, description="Short tag shown on the card.")
    excerpt = graphene.InputField(String, description="Teaser text.")


class ReviewInput(graphene.InputObjectType):
    """Medical review: who reviewed the article and when."""

    reviewer = graphene.InputField(graphene.NonNull(String), description="The expert's slug.")
    reviewed_at = graphene.InputField(graphene.NonNull(graphene.Date), description="When.")
    next_review_due = graphene.InputField(graphene.Date, description="When it is due again.")


class LicenseInput(graphene.InputObjectType):
    """The licence the article is published under (instead of the service's default)."""

    name = graphene.InputField(graphene.NonNull(String), description="Its name.")
    url = graphene.InputField(String, description="Where its terms are.")


class AttributionInput(graphene.InputObjectType):
    """How partners must credit the article (instead of the service's default)."""

    text = graphene.InputField(graphene.NonNull(String), description="As plain text.")
    html = graphene.InputField(
        String, description="As HTML: links and emphasis are kept, anything else removed."
    )


ArticleInput, ArticlePatch = input_types(
    "Article",
    "An article: metadata, Markdown body, topics, quotes, references, related links, review.",
    {
        "slug": InputSpec(String, "Unique, URL-safe name (lowercase, digits, hyphens).", True),
        "title": InputSpec(String, "Headline.", True),
        "summary": InputSpec(String, "One-paragraph summary."),
        "body": InputSpec(String, "CommonMark body; `## headings` make sections.", True),
        "status": InputSpec(
            ArticleStatus,
            "DRAFT (the default) or PUBLISHED or ARCHIVED; later, use the publish, unpublish "
            "and archive mutations.",
            in_patch=False,
        ),
        "published_at": InputSpec(
            graphene.DateTime, "Publication date; publishing sets it to now when unset."
        ),
        "canonical_url": InputSpec(String, "Canonical URL, if not ours."),
        "hero_image_url": InputSpec(String, "Lead image URL."),
        "hero_image_alt": InputSpec(String, "Lead image alternative text."),
        "hero_image_credit": InputSpec(String, "Lead image credit."),
        "seo_title": InputSpec(String, "Title for search results."),
        "seo_description": InputSpec(String, "Description for search results."),
        "disclaimer": InputSpec(String, "Medical disclaimer."),
        "topics": InputSpec(_list(String), "Topic slugs, in editorial order."),
        "primary_topic": InputSpec(String, "The main topic's slug (default: the first)."),
        "quotes": InputSpec(_list(QuoteInput), "Expert quotes, in body order."),
        "references": InputSpec(_list(ReferenceInput), "Cited sources, in citation order."),
        "related": InputSpec(_list(RelatedLinkInput), "Curated related posts, in order."),
        "review": InputSpec(ReviewInput, "Medical review (null removes it)."),
        "license": InputSpec(LicenseInput, "Its own licence (null: the service's default)."),
        "attribution": InputSpec(
            AttributionInput, "Its own attribution (null: the service's default)."
        ),
    },
)

TopicInput, TopicPatch = input_types(
    "Topic",
    "A topic: a supplement, condition, symptom or general theme.",
    {
        "slug": InputSpec(String, "Unique, URL-safe name.", True),
        "name": InputSpec(String, "Display name.", True),
        "description": InputSpec(String, "What the topic covers."),
        "kind": InputSpec(TopicKind, "Supplement, condition, symptom or general (default)."),
        "synonyms": InputSpec(_list(String), "Other names for it."),
        "parent": InputSpec(String, "Slug of the broader topic."),
    },
)

ExpertInput, ExpertPatch = input_types(
    "Expert",
    "An expert articles quote or who reviews them.",
    {
        "slug": InputSpec(String, "Unique, URL-safe name.", True),
        "name": InputSpec(String, "Full name, without honorific.", True),
        "honorific": InputSpec(String, "Like `Dr.`"),
        "credentials": InputSpec(String, "Like `MD, PhD`."),
        "specialty": InputSpec(String, "What they specialise in."),
        "affiliation": InputSpec(String, "Where they work."),
        "location": InputSpec(String, "Where they are based."),
        "practising_since": InputSpec(Int, "Year they started practising."),
        "bio": InputSpec(String, "Short biography."),
        "profile_url": InputSpec(String, "Their profile page (http or https)."),
    },
)


class ArticlePayload(graphene.ObjectType):
    """The result of an article edit."""

    article = graphene.Field(Article, description="The article as stored now; null if refused.")
    errors = errors_field()


class DeleteArticlePayload(graphene.ObjectType):
    """The result of deleting an article."""

    deleted_slug = graphene.String(description="Slug of the deleted article; null if refused.")
    errors = errors_field()


class TopicPayload(graphene.ObjectType):
    """The result of a topic edit."""

    topic = graphene.Field(Topic, description="The topic as stored now; null if refused.")
    errors = errors_field()


class ExpertPayload(graphene.ObjectType):
    """The result of an expert edit."""

    expert = graphene.Field(Expert, description="The expert as stored now; null if refused.")
    errors = errors_field()


def _slug() -> graphene.String:
    return graphene.String(required=True, description="Slug of the item to change.")


def _expected(required: bool) -> graphene.Int:
    return graphene.Int(
        required=required,
        description="The version you read; if it changed since, the edit is refused with "
        "VERSION_CONFLICT" + ("." if required else " (leave out to skip the check)."),
    )


async def _answer(
    info: GraphQLResolveInfo,
    mutation: str,
    edit: Any,
    payload: type[graphene.ObjectType],
    field: str,
    argument: str | None,
) -> Any:
    """Run an edit and put its result and errors (paths under `argument`) in `payload`."""
    result = await run_edit(info, mutation, edit)
    return payload(**{field: result.row}, errors=edit_errors(result.problems, argument))


def _create_mutation(
    table: type[Any], input_type: Any, payload: type[graphene.ObjectType], field: str
) -> graphene.Field:
    name = table.__name__

    async def resolve(root: Any, info: GraphQLResolveInfo, input: Any) -> Any:
        data = plain(input)
        return await _answer(
            info,
            f"create{name}",
            lambda engine, actor: editing.create_item(engine, table, data, actor),
            payload,
            field,
            "input",
        )

    return graphene.Field(
        payload,
        input=input_type(required=True, description=f"The new {field}."),
        resolver=resolve,
        description=f"Create {'an' if name[0] in 'AEIOU' else 'a'} {field}"
        + (" (a draft unless `status` says otherwise)." if table is ArticleRow else "."),
    )


def _update_mutation(
    table: type[Any], patch_type: Any, payload: type[graphene.ObjectType], field: str
) -> graphene.Field:
    name = table.__name__

    async def resolve(
        root: Any, info: GraphQLResolveInfo, slug: str, expected_version: int, patch: Any
    ) -> Any:
        data = plain(patch)
        return await _answer(
            info,
            f"update{name}",
            lambda engine, actor: editing.update_item(
                engine, table, slug, expected_version, data, actor
            ),
            payload,
            field,
            "patch",
        )

    return graphene.Field(
        payload,
        slug=_slug(),
        expected_version=_expected(required=True),
        patch=patch_type(required=True, description="The fields to change."),
        resolver=resolve,
        description=f"Change {'an' if name[0] in 'AEIOU' else 'a'} {field}'s fields"
        + (" (a new version, kept in `revisions`)." if table is ArticleRow else "."),
    )


def _status_mutation(status: StatusEnum, verb: str) -> graphene.Field:
    async def resolve(
        root: Any, info: GraphQLResolveInfo, slug: str, expected_version: int | None = None
    ) -> Any:
        return await _answer(
            info,
            f"{verb}Article",
            lambda engine, actor: editing.set_article_status(
                engine, slug, status, expected_version, actor
            ),
            ArticlePayload,
            "article",
            None,
        )

    descriptions = {
        StatusEnum.PUBLISHED: "Publish an article (dated now unless it has a date).",
        StatusEnum.DRAFT: "Take a published or archived article back to draft.",
        StatusEnum.ARCHIVED: "Archive an article: out of every public list, kept for the record.",
    }
    return graphene.Field(
        ArticlePayload,
        slug=_slug(),
        expected_version=_expected(required=False),
        resolver=resolve,
        description=descriptions[status] + " Needs the `write` scope.",
    )


class Mutation(graphene.ObjectType):
    """Edit content (needs a key with the `write` scope). Refused edits change nothing and
    say why in the payload's `errors`."""

    create_article = _create_mutation(ArticleRow, ArticleInput, ArticlePayload, "article")
    update_article = _update_mutation(ArticleRow, ArticlePatch, ArticlePayload, "article")
    publish_article = _status_mutation(StatusEnum.PUBLISHED, "publish")
    unpublish_article = _status_mutation(StatusEnum.DRAFT, "unpublish")
    archive_article = _status_mutation(StatusEnum.ARCHIVED, "archive")
    delete_article = graphene.Field(
        DeleteArticlePayload,
        slug=_slug(),
        expected_version=_expected(required=False),
        description="Delete an article for good (its revisions stay). Refused while other "
        "articles list it as a related post.",
    )
    create_topic = _create_mutation(TopicRow, TopicInput, TopicPayload, "topic")
    update_topic = _update_mutation(TopicRow, TopicPatch, TopicPayload, "topic")
    create_expert = _create_mutation(ExpertRow, ExpertInput, ExpertPayload, "expert")
    update_expert = _update_mutation(ExpertRow, ExpertPatch, ExpertPayload, "expert")

    async def resolve_delete_article(
        root: Any, info: GraphQLResolveInfo, slug: str, expected_version: int | None = None
    ) -> Any:
        result = await run_edit(
            info,
            "deleteArticle",
            lambda engine, actor: editing.delete_article(engine, slug, expected_version, actor),
        )
        return DeleteArticlePayload(
            deleted_slug=result.row.slug if result.row is not None else None,
            errors=edit_errors(result.problems, None),
        )
