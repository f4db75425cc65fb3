"""Articles' GraphQL enums: status, list order, body format and revision action."""

from __future__ import annotations

import graphene

from api.graphql.enums import graphql_enum
from schema import lists, tables

ArticleStatus = graphql_enum(
    tables.ArticleStatus,
    {
        None: "Where an article is in its life.",
        tables.ArticleStatus.DRAFT: "Being written; visible only to editors.",
        tables.ArticleStatus.PUBLISHED: "Public.",
        tables.ArticleStatus.ARCHIVED: "Withdrawn from lists; kept for the record.",
    },
)

Order = lists.ArticleOrder
ArticleOrder = graphql_enum(
    Order,
    {
        None: "How to order a list of articles.",
        Order.NEWEST: "Most recently published first.",
        Order.OLDEST: "Earliest published first.",
        Order.UPDATED: "Most recently changed first.",
        Order.TITLE: "By title, A to Z, ignoring case (the case of letters outside A-Z only "
        "on PostgreSQL).",
        Order.RELEVANCE: "Best match first, among the 200 newest matches (with `search` "
        "only; `totalCount` counts every match, other orders page through them all).",
    },
)

RevisionAction = graphql_enum(
    tables.RevisionAction,
    {
        None: "What a revision did to the article.",
        tables.RevisionAction.CREATE: "Created it (through the API).",
        tables.RevisionAction.UPDATE: "Changed its content.",
        tables.RevisionAction.PUBLISH: "Published it.",
        tables.RevisionAction.UNPUBLISH: "Took it back to draft.",
        tables.RevisionAction.ARCHIVE: "Archived it.",
        tables.RevisionAction.DELETE: "Deleted it (the snapshot is what was deleted).",
        tables.RevisionAction.LOAD: "Wrote it from content files (the seed loader).",
    },
)


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
