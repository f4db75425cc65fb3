"""The root schema: every domain's queries, composed."""

from __future__ import annotations

import graphene

from api.graphql.article_queries import ArticleQueries
from api.graphql.articles import Article
from api.graphql.changes import ChangeQueries
from api.graphql.experts import Expert, ExpertQueries, Quote
from api.graphql.mutations import Mutation
from api.graphql.relay import Node
from api.graphql.topics import Topic, TopicQueries


class Query(ArticleQueries, TopicQueries, ExpertQueries, ChangeQueries, graphene.ObjectType):
    """Read health content: articles, topics, experts and quotes."""

    node = Node.Field(description="Any object by its global id.")


schema = graphene.Schema(
    query=Query, mutation=Mutation, types=[Article, Topic, Expert, Quote], auto_camelcase=True
)
