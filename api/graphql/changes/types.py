"""The `changes` feed's types: a change from the change outbox, what it changed, and the
change connection."""

from __future__ import annotations

from typing import Any

import graphene
from graphql import GraphQLResolveInfo
from graphql_relay import to_global_id

from api.context import context_of
from api.graphql.relay import connection_types
from api.site_urls import page_url
from schema import tables
from schema.webhooks import EVENTS, event_type


class ChangedItem(graphene.ObjectType):
    """What a change changed, as it was just after it (webhook payloads' `data`)."""

    typename = graphene.String(
        required=True,
        description="Its GraphQL type: `Article`, `Topic` or `Expert` (`__typename` in "
        "webhook payloads).",
    )
    id = graphene.ID(
        required=True, description="Its global id, for `node(id:)` (a rename keeps it)."
    )
    slug = graphene.String(required=True, description="Its slug after the change.")
    version = graphene.Int(description="Its version after the change.")
    url = graphene.String(
        required=True,
        description="Its public address: an article's canonical URL if it has one of its "
        "own, else its page here (SITE_URL/articles/<slug>, /topics/..., /experts/...).",
    )

    @staticmethod
    def resolve_typename(row: tables.Change, info: GraphQLResolveInfo) -> str:
        return str(row.entity)

    @staticmethod
    def resolve_id(row: tables.Change, info: GraphQLResolveInfo) -> str:
        return to_global_id(str(row.entity), str(row.entity_id))

    @staticmethod
    def resolve_url(row: tables.Change, info: GraphQLResolveInfo) -> str:
        site_url = context_of(info).settings.site_url
        return row.canonical_url or page_url(site_url, str(row.entity), row.slug)


class Change(graphene.ObjectType):
    """One change to content, from the change outbox: what webhooks announce."""

    type = graphene.String(
        required=True,
        description=f"The event: {', '.join(EVENTS)}. With a `preview` key, also "
        "`article.created` and changes to drafts (`public: false`).",
    )
    timestamp = graphene.DateTime(required=True, description="When it was committed (UTC).")
    public = graphene.Boolean(
        required=True,
        description="Whether the item was public before or after it (always, without a "
        "`preview` key).",
    )
    data = graphene.Field(ChangedItem, required=True, description="What changed.")

    @staticmethod
    def resolve_type(row: tables.Change, info: GraphQLResolveInfo) -> str:
        return event_type(row.entity, row.action)

    @staticmethod
    def resolve_timestamp(row: tables.Change, info: GraphQLResolveInfo) -> Any:
        return row.changed_at

    @staticmethod
    def resolve_data(row: tables.Change, info: GraphQLResolveInfo) -> tables.Change:
        return row


ChangeEdge, ChangeConnection = connection_types(
    "api.graphql.changes.types.Change", "Changes to content, oldest first, in commit order."
)
