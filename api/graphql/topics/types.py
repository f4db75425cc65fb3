"""Topics' GraphQL types: the topic kind, the topic (with its articles) and the topic
connection."""

from __future__ import annotations

from typing import Any

import graphene
from graphql import GraphQLResolveInfo

from api.context import context_of
from api.graphql.articles.queries import article_connection, article_list_arguments
from api.graphql.enums import graphql_enum
from api.graphql.loaders import loaders_of
from api.graphql.relay import Node, connection_types
from api.graphql.topics.descriptions import TOPIC
from api.site_urls import page_url
from schema import tables

TopicKind = graphql_enum(
    tables.TopicKind,
    {
        None: "What kind of subject a topic is.",
        tables.TopicKind.SUPPLEMENT: "Something taken: a mineral, vitamin or other supplement.",
        tables.TopicKind.CONDITION: "A disease or health condition.",
        tables.TopicKind.SYMPTOM: "Something a person feels or shows.",
        tables.TopicKind.GENERAL: "Any other theme.",
    },
)


class Topic(graphene.ObjectType):
    """A subject articles are about: a supplement, condition, symptom or general theme."""

    class Meta:
        interfaces = (Node,)

    slug = graphene.String(required=True, description=TOPIC["slug"])
    url = graphene.String(
        required=True, description="Its page on this site (SITE_URL/topics/<slug>)."
    )
    name = graphene.String(required=True, description=TOPIC["name"])
    version = graphene.Int(
        required=True, description="Bumped by every change (send it as `expectedVersion`)."
    )
    description = graphene.String(description=TOPIC["description"])
    kind = TopicKind(required=True, description=TOPIC["kind"])
    synonyms = graphene.List(
        graphene.NonNull(graphene.String), required=True, description=TOPIC["synonyms"]
    )
    parent = graphene.Field(lambda: Topic, description="The broader topic, if any.")
    articles = graphene.Field(
        "api.graphql.articles.types.ArticleConnection",
        required=True,
        description="Published articles about this topic or any topic under it.",
        **article_list_arguments(),
    )

    @staticmethod
    def resolve_url(parent: tables.Topic, info: GraphQLResolveInfo) -> str:
        return page_url(context_of(info).settings.site_url, "Topic", parent.slug)

    @classmethod
    def is_type_of(cls, root: Any, info: GraphQLResolveInfo) -> bool:
        return isinstance(root, tables.Topic)

    @classmethod
    async def get_node(cls, info: GraphQLResolveInfo, id: int) -> tables.Topic | None:
        return await loaders_of(info).topic_by_id.load(id)

    async def resolve_parent(parent: tables.Topic, info: GraphQLResolveInfo) -> tables.Topic | None:
        if parent.parent_id is None:
            return None
        return await loaders_of(info).topic_by_id.load(parent.parent_id)

    async def resolve_articles(parent: tables.Topic, info: GraphQLResolveInfo, **args: Any) -> Any:
        return await article_connection(info, args, topic_id=parent.id)


TopicEdge, TopicConnection = connection_types(
    "api.graphql.topics.types.Topic", "A page of topics, by name (Relay cursor connection)."
)
