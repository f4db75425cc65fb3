"""The root schema: every domain's queries and mutations, composed."""

from __future__ import annotations

import graphene

from api.graphql.articles.mutations import ArticleMutations
from api.graphql.articles.queries import ArticleQueries
from api.graphql.articles.types import Article
from api.graphql.changes.queries import ChangeQueries
from api.graphql.experts.mutations import ExpertMutations
from api.graphql.experts.queries import ExpertQueries
from api.graphql.experts.types import Expert, Quote
from api.graphql.relay import Node
from api.graphql.topics.mutations import TopicMutations
from api.graphql.topics.queries import TopicQueries
from api.graphql.topics.types import Topic


class Query(ArticleQueries, TopicQueries, ExpertQueries, ChangeQueries, graphene.ObjectType):
    """Read health content: articles, topics, experts and quotes."""

    node = Node.Field(description="Any object by its global id.")


# graphene takes fields from the last base first: the schema lists articles' mutations first.
class Mutation(ExpertMutations, TopicMutations, ArticleMutations, graphene.ObjectType):
    """Edit content (needs a key with the `write` scope). Refused edits change nothing and
    say why in the payload's `errors`."""


schema = graphene.Schema(
    query=Query, mutation=Mutation, types=[Article, Topic, Expert, Quote], auto_camelcase=True
)
