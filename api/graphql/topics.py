"""Topics: the type (with its articles) and topic queries."""

from __future__ import annotations

from typing import Any

import graphene
from graphql import GraphQLResolveInfo

from api.graphql.article_queries import article_connection, article_list_arguments
from api.graphql.relay import (
    Node,
    connection_types,
    page_arguments,
    paged,
)
from api.site_urls import page_url
from schema import lists
from schema.tables import Topic as TopicRow
from schema.tables import TopicKind as KindEnum

_KINDS = {
    None: "What kind of subject a topic is.",
    KindEnum.SUPPLEMENT: "Something taken: a mineral, vitamin or other supplement.",
    KindEnum.CONDITION: "A disease or health condition.",
    KindEnum.SYMPTOM: "Something a person feels or shows.",
    KindEnum.GENERAL: "Any other theme.",
}
# graphene asks the callable for the type's description (None) and each value's.
TopicKind = graphene.Enum.from_enum(KindEnum, description=lambda v: _KINDS[v])


class Topic(graphene.ObjectType):
    """A subject articles are about: a supplement, condition, symptom or general theme."""

    class Meta:
        interfaces = (Node,)

    slug = graphene.String(required=True, description="Unique, URL-safe name.")
    url = graphene.String(
        required=True, description="Its page on this site (SITE_URL/topics/<slug>)."
    )
    name = graphene.String(required=True, description="Display name.")
    version = graphene.Int(
        required=True, description="Bumped by every change (send it as `expectedVersion`)."
    )
    description = graphene.String(description="What the topic covers.")
    kind = TopicKind(required=True, description="Supplement, condition, symptom or general.")
    synonyms = graphene.List(
        graphene.NonNull(graphene.String), required=True, description="Other names for it."
    )
    parent = graphene.Field(lambda: Topic, description="The broader topic, if any.")
    articles = graphene.Field(
        "api.graphql.articles.ArticleConnection",
        required=True,
        description="Published articles about this topic or any topic under it.",
        **article_list_arguments(),
    )

    @staticmethod
    def resolve_url(parent: TopicRow, info: GraphQLResolveInfo) -> str:
        return page_url(info.context.settings.site_url, "Topic", parent.slug)

    @classmethod
    def is_type_of(cls, root: Any, info: GraphQLResolveInfo) -> bool:
        return isinstance(root, TopicRow)

    @classmethod
    async def get_node(cls, info: GraphQLResolveInfo, id: int) -> TopicRow | None:
        return await info.context.loaders.topic_by_id.load(id)

    async def resolve_parent(parent: TopicRow, info: GraphQLResolveInfo) -> Any:
        if parent.parent_id is None:
            return None
        return await info.context.loaders.topic_by_id.load(parent.parent_id)

    async def resolve_articles(parent: TopicRow, info: GraphQLResolveInfo, **args: Any) -> Any:
        return await article_connection(info, args, topic_id=parent.id)


TopicEdge, TopicConnection = connection_types(
    "api.graphql.topics.Topic", "A page of topics, by name (Relay cursor connection)."
)


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

    async def resolve_topic(root: Any, info: GraphQLResolveInfo, slug: str) -> Any:
        return await info.context.loaders.topic_by_slug.load(slug)

    async def resolve_topics(root: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
        kind = args.get("kind")
        kind_value = KindEnum(getattr(kind, "value", kind)) if kind else None
        return await paged(
            info,
            TopicConnection,
            args,
            lambda session, page: lists.topic_page(session=session, page=page, kind=kind_value),
        )
