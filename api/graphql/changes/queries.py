"""The `changes` feed: the change outbox as a connection, for partners who poll instead of
(or as well as) receiving webhooks. The same events, in commit order, so a poller that
keeps its last `endCursor` catches up exactly: a change committed later never appears
before one it has already read."""

from __future__ import annotations

from typing import Any

import graphene
from graphql import GraphQLResolveInfo

from api.context import context_of
from api.graphql.changes.types import ChangeConnection
from api.graphql.relay import paged
from schema.changes import change_page
from schema.keys import Scope
from schema.pagination import MAX_PAGE


class ChangeQueries(graphene.ObjectType):
    """The `changes` feed."""

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
        public_only = not context_of(info).caller.can(Scope.PREVIEW)
        return await paged(
            info,
            ChangeConnection,
            args,
            lambda session, page: change_page(session, page=page, public_only=public_only),
        )
