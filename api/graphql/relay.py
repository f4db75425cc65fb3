"""Relay pieces shared by every domain: global ids, page info, page arguments, input errors."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import graphene
from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLResolveInfo,
    InlineFragmentNode,
)
from graphql_relay import from_global_id
from sqlalchemy.ext.asyncio import AsyncSession

from api.context import context_of
from api.errors import ErrorCode
from schema.pagination import MAX_PAGE, Page, PageError, PageRequest

MAX_ID = 2**31 - 1  # ids are 32-bit integers on both databases


def parse_id(raw: str) -> int | None:
    """A database id from a global id's second half, or None if it cannot be one."""
    if not re.fullmatch(r"[0-9]{1,10}", raw) or int(raw) > MAX_ID:
        return None
    return int(raw)


class Node(graphene.relay.Node):
    """An object with a global id: fetch any of them again with `node(id:)`."""

    class Meta:
        name = "Node"

    @classmethod
    def get_node_from_global_id(
        cls, info: GraphQLResolveInfo, global_id: str, only_type: Any = None
    ) -> Any:
        # An id that names no object of ours is simply not found (null), whatever its shape.
        try:
            type_name, raw_id = from_global_id(global_id)
        except Exception:  # graphql-relay raises assorted errors for malformed base64
            return None
        graphql_type = info.schema.get_type(type_name)
        graphene_type = getattr(graphql_type, "graphene_type", None)
        interfaces = getattr(getattr(graphene_type, "_meta", None), "interfaces", ())
        if graphene_type is None or cls not in interfaces:
            return None
        if only_type and graphene_type is not only_type:
            return None
        database_id = parse_id(raw_id)
        if database_id is None:
            return None
        return graphene_type.get_node(info, database_id)


class PageInfo(graphene.ObjectType):
    """Where this page sits in the whole list (Relay cursor connections)."""

    has_next_page = graphene.Boolean(
        required=True, description="Whether more items follow (ask with `after: endCursor`)."
    )
    has_previous_page = graphene.Boolean(
        required=True, description="Whether items precede (ask with `before: startCursor`)."
    )
    start_cursor = graphene.String(description="Cursor of the first item on this page.")
    end_cursor = graphene.String(description="Cursor of the last item on this page.")


def page_arguments() -> dict[str, Any]:
    return {
        "first": graphene.Int(
            description=f"Items after `after`: 20 by default, at most {MAX_PAGE}."
        ),
        "after": graphene.String(description="Cursor to start after (an `endCursor`)."),
        "last": graphene.Int(description=f"Items before `before`, at most {MAX_PAGE}."),
        "before": graphene.String(description="Cursor to end before (a `startCursor`)."),
    }


def page_request(args: dict[str, Any], info: GraphQLResolveInfo | None = None) -> PageRequest:
    return PageRequest(
        first=args.get("first"),
        after=args.get("after"),
        last=args.get("last"),
        before=args.get("before"),
        count=info is None or selects(info, "totalCount"),
    )


def selects(info: GraphQLResolveInfo, name: str) -> bool:
    """Whether the field being resolved selects `name` directly under it (through fragments
    too, whatever their type condition or directives: a count too many is only slower)."""
    return name in selected(info, ())


def selected(info: GraphQLResolveInfo, path: Sequence[str]) -> set[str]:
    """The names of the fields selected at `path` under the field being resolved (e.g.
    ("edges", "node")), through fragments, whatever their type conditions or directives:
    what a plan fetches ahead must include what runs, and a fetch too many is only slower."""
    level = [node.selection_set for node in info.field_nodes]
    for step in (*path, None):
        pending, below, names, seen = list(level), [], set(), set()
        while pending:
            selection_set = pending.pop()
            for selection in selection_set.selections if selection_set else ():
                if isinstance(selection, FieldNode):
                    names.add(selection.name.value)
                    if selection.name.value == step:
                        below.append(selection.selection_set)
                elif isinstance(selection, InlineFragmentNode):
                    pending.append(selection.selection_set)
                elif isinstance(selection, FragmentSpreadNode):
                    fragment = info.fragments.get(selection.name.value)
                    if fragment is not None and fragment.name.value not in seen:
                        seen.add(fragment.name.value)
                        pending.append(fragment.selection_set)
        if step is None:
            return names
        level = below
    return set()


def bad_input(error: PageError) -> GraphQLError:
    """A page argument refused: BAD_USER_INPUT, naming the argument."""
    return GraphQLError(
        str(error), extensions={"code": ErrorCode.BAD_USER_INPUT, "argument": error.argument}
    )


def connection(connection_type: type[Any], page: Page) -> Any:
    edges = [
        connection_type.Edge(node=row, cursor=cursor)
        for row, cursor in zip(page.rows, page.cursors, strict=True)
    ]
    return connection_type(
        edges=edges,
        page_info=PageInfo(
            has_next_page=page.has_next,
            has_previous_page=page.has_previous,
            start_cursor=page.cursors[0] if page.cursors else None,
            end_cursor=page.cursors[-1] if page.cursors else None,
        ),
        total_count=page.total,
    )


def connection_types(node: str, description: str) -> tuple[type[Any], type[Any]]:
    """(XEdge, XConnection) ObjectTypes for a node type named by import path."""
    name = node.rsplit(".", 1)[1]
    edge = type(
        f"{name}Edge",
        (graphene.ObjectType,),
        {
            "__doc__": f"One {name} in a list, with its cursor.",
            "node": graphene.Field(node, required=True, description=f"The {name}."),
            "cursor": graphene.String(required=True, description="Opaque position in the list."),
        },
    )
    conn = type(
        f"{name}Connection",
        (graphene.ObjectType,),
        {
            "__doc__": description,
            "edges": graphene.List(
                graphene.NonNull(edge), required=True, description="This page's items."
            ),
            "page_info": graphene.Field(PageInfo, required=True, description="Paging state."),
            "total_count": graphene.Int(
                required=True, description="How many items the whole list has, all pages."
            ),
            "Edge": edge,  # a class, not a field: graphene leaves it out of the type
        },
    )
    return edge, conn


async def paged(
    info: GraphQLResolveInfo,
    connection_type: type[Any],
    args: dict[str, Any],
    fetch: Callable[[AsyncSession, PageRequest], Awaitable[Page]],
    prefetch: Callable[[list[Any]], Awaitable[Any]] | None = None,
) -> Any:
    """Run `fetch` for the page `args` ask for, in the request's session; a bad page request
    becomes a BAD_USER_INPUT error naming the argument. `prefetch(rows)` then loads what the
    nodes' fields will ask for, so that they answer at once."""
    try:
        request = page_request(args, info)
        page = await context_of(info).read(lambda session: fetch(session, request))
    except PageError as error:
        raise bad_input(error) from None
    if prefetch is not None and page.rows:
        await prefetch(page.rows)
    return connection(connection_type, page)
