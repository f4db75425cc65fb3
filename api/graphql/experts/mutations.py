"""Expert mutations (scope `write`): create and update, with their inputs and payload."""

from __future__ import annotations

import graphene

from api.graphql.experts.descriptions import EXPERT
from api.graphql.experts.types import Expert
from api.graphql.input_types import InputSpec, input_types
from api.graphql.payloads import create_field, errors_field, update_field
from schema import edits

ExpertInput, ExpertPatch = input_types(
    "Expert",
    "An expert articles quote or who reviews them.",
    {
        "slug": InputSpec(graphene.String, required=True),
        "name": InputSpec(graphene.String, required=True),
        "honorific": InputSpec(graphene.String),
        "credentials": InputSpec(graphene.String),
        "specialty": InputSpec(graphene.String),
        "affiliation": InputSpec(graphene.String),
        "location": InputSpec(graphene.String),
        "practising_since": InputSpec(graphene.Int),
        "bio": InputSpec(graphene.String),
        "profile_url": InputSpec(graphene.String),
    },
    EXPERT,
)


class ExpertPayload(graphene.ObjectType):
    """The result of an expert edit."""

    expert = graphene.Field(Expert, description="The expert as stored now; null if refused.")
    errors = errors_field()


class ExpertMutations(graphene.ObjectType):
    """Expert edits."""

    create_expert = create_field(
        mutation="createExpert",
        input_type=ExpertInput,
        payload=ExpertPayload,
        field="expert",
        create=edits.create_expert,
        description="Create an expert.",
    )
    update_expert = update_field(
        mutation="updateExpert",
        patch_type=ExpertPatch,
        payload=ExpertPayload,
        field="expert",
        update=edits.update_expert,
        description="Change an expert's fields.",
    )
