"""Expert queries: `expert(slug:)` and `experts(...)`."""

from __future__ import annotations

from typing import Any

import graphene
from graphql import GraphQLResolveInfo

from api.graphql.experts.types import Expert, ExpertConnection
from api.graphql.loaders import loaders_of
from api.graphql.relay import page_arguments, paged
from schema import lists, tables


class ExpertQueries(graphene.ObjectType):
    """Expert lookups and lists."""

    expert = graphene.Field(
        Expert,
        slug=graphene.String(required=True, description="The expert's slug."),
        description="An expert by slug; null if there is none.",
    )
    experts = graphene.Field(
        ExpertConnection,
        required=True,
        description="All experts by name, a page at a time.",
        **page_arguments(),
    )

    async def resolve_expert(
        root: Any, info: GraphQLResolveInfo, slug: str
    ) -> tables.Expert | None:
        return await loaders_of(info).expert_by_slug.load(slug)

    async def resolve_experts(root: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
        return await paged(
            info,
            ExpertConnection,
            args,
            lambda session, page: lists.expert_page(session=session, page=page),
        )
