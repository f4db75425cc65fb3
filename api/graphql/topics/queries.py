"""Topic queries: `topic(slug:)` and `topics(...)`."""

from __future__ import annotations

from typing import Any

import graphene
from graphql import GraphQLResolveInfo

from api.graphql.enums import ours
from api.graphql.loaders import loaders_of
from api.graphql.relay import page_arguments, paged
from api.graphql.topics.types import Topic, TopicConnection, TopicKind
from schema import lists, tables


class TopicQueries(graphene.ObjectType):
    """Topic lookups and lists."""

    topic = graphene.Field(
        Topic,
        slug=graphene.String(required=True, description="The topic's slug."),
        description="A topic by slug; null if there is none.",
    )
    topics = graphene.Field(
        TopicConnection,
        required=True,
        kind=TopicKind(description="Only topics of this kind."),
        description="All topics by name, a page at a time.",
        **page_arguments(),
    )

    async def resolve_topic(root: Any, info: GraphQLResolveInfo, slug: str) -> tables.Topic | None:
        return await loaders_of(info).topic_by_slug.load(slug)

    async def resolve_topics(root: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
        kind = args.get("kind")
        kind_value = ours(tables.TopicKind, kind) if kind else None
        return await paged(
            info,
            TopicConnection,
            args,
            lambda session, page: lists.topic_page(session=session, page=page, kind=kind_value),
        )
