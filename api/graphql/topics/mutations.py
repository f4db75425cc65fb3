"""Topic mutations (scope `write`): create and update, with their inputs and payload."""

from __future__ import annotations

import graphene

from api.graphql.input_types import InputSpec, input_types
from api.graphql.payloads import create_field, errors_field, update_field
from api.graphql.topics.descriptions import TOPIC
from api.graphql.topics.types import Topic, TopicKind
from schema import edits

TopicInput, TopicPatch = input_types(
    "Topic",
    "A topic: a supplement, condition, symptom or general theme.",
    {
        "slug": InputSpec(graphene.String, required=True),
        "name": InputSpec(graphene.String, required=True),
        "description": InputSpec(graphene.String),
        "kind": InputSpec(
            TopicKind, description="Supplement, condition, symptom or general (the default)."
        ),
        "synonyms": InputSpec(graphene.List(graphene.NonNull(graphene.String))),
        "parent": InputSpec(graphene.String, description="Slug of the broader topic."),
    },
    TOPIC,
)


class TopicPayload(graphene.ObjectType):
    """The result of a topic edit."""

    topic = graphene.Field(Topic, description="The topic as stored now; null if refused.")
    errors = errors_field()


class TopicMutations(graphene.ObjectType):
    """Topic edits."""

    create_topic = create_field(
        mutation="createTopic",
        input_type=TopicInput,
        payload=TopicPayload,
        field="topic",
        create=edits.create_topic,
        description="Create a topic.",
    )
    update_topic = update_field(
        mutation="updateTopic",
        patch_type=TopicPatch,
        payload=TopicPayload,
        field="topic",
        update=edits.update_topic,
        description="Change a topic's fields.",
    )
