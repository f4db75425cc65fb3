"""An article's revisions: every version, as its editor wrote it."""

from __future__ import annotations

from typing import Any

import graphene
from graphene.utils.str_converters import to_camel_case
from graphql import GraphQLResolveInfo

from api.graphql.articles.enums import ArticleStatus, RevisionAction
from api.graphql.scalars import JSONString
from schema import tables


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

    def resolve_snapshot(parent: tables.ArticleRevision, info: GraphQLResolveInfo) -> Any:
        return _camel_keys(parent.snapshot)

    def resolve_title(parent: tables.ArticleRevision, info: GraphQLResolveInfo) -> str:
        return str(parent.snapshot["title"])

    def resolve_status(parent: tables.ArticleRevision, info: GraphQLResolveInfo) -> str:
        return str(parent.snapshot["status"])

    def resolve_body(parent: tables.ArticleRevision, info: GraphQLResolveInfo) -> str:
        return str(parent.snapshot["body"])
