"""The `changes` feed: the change outbox as a connection, for partners who poll instead of
(or as well as) receiving webhooks. The same events, in commit order, so a poller that
keeps its last `endCursor` catches up exactly: a change committed later never appears
before one it has already read."""

from __future__ import annotations

from typing import Any

import graphene
from graphql import GraphQLResolveInfo
from graphql_relay import to_global_id

from api.graphql.relay import connection_types, paged
from api.site_urls import page_url
from schema.changes import change_page
from schema.keys import Scope
from schema.pagination import MAX_PAGE
from schema.tables import Change as ChangeRow
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
    def resolve_typename(row: ChangeRow, info: GraphQLResolveInfo) -> str:
        return str(row.entity)

    @staticmethod
    def resolve_id(row: ChangeRow, info: GraphQLResolveInfo) -> str:
        return to_global_id(str(row.entity), str(row.entity_id))

    @staticmethod
    def resolve_url(row: ChangeRow, info: GraphQLResolveInfo) -> str:
        site_url = info.context.settings.site_url
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
    def resolve_type(row: ChangeRow, info: GraphQLResolveInfo) -> str:
        return event_type(row.entity, row.action)

    @staticmethod
    def resolve_timestamp(row: ChangeRow, info: GraphQLResolveInfo) -> Any:
        return row.changed_at

    @staticmethod
    def resolve_data(row: ChangeRow, info: GraphQLResolveInfo) -> ChangeRow:
        return row


ChangeEdge, ChangeConnection = connection_types(
    "api.graphql.changes.Change", "Changes to content, oldest first, in commit order."
)


class ChangeQueries(graphene.ObjectType):
    changes = graphene.Field(
        ChangeConnection,
        required=True,
        first=graphene.Int(
            description=f"Changes after `after`: 20 by default, at most {MAX_PAGE}."
        ),
        after=graphene.String(
            description="Cursor to start after: the `endCursor` of the last page read "
            "(none: from the first change)."
        ),
        description="Every change to published content, oldest first, in the order the "
        "changes were committed: poll with the last `endCursor` you read to catch up exactly "
        "(an empty page has no `endCursor`: keep yours). Changes to drafts only with a "
        "`preview` key.",
    )

    async def resolve_changes(root: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
        public_only = not info.context.caller.can(Scope.PREVIEW)
        return await paged(
            info,
            ChangeConnection,
            args,
            lambda session, page: change_page(session, page=page, public_only=public_only),
        )
