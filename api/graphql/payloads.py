"""What every mutation answers with: a payload holding the item as stored after the edit and
the edit's typed errors (a refused edit changes nothing); running an edit as the caller; and
the create and update fields every domain's mutations are made of."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import graphene
from graphene.utils.str_converters import to_camel_case
from graphql import GraphQLResolveInfo
from sqlalchemy.ext.asyncio import AsyncEngine

from api.context import context_of
from api.graphql.enums import graphql_enum
from api.graphql.input_types import plain
from schema.edits import EditCode, EditProblem, EditResult
from schema.keys import Scope

_CODES = {
    None: "Why an edit was refused.",
    EditCode.INVALID_INPUT: "A value is wrong; the message says how, `field` says where.",
    EditCode.NOT_FOUND: "The item to change does not exist.",
    EditCode.ALREADY_EXISTS: "Another item already has that slug.",
    EditCode.VERSION_CONFLICT: "Someone changed the item since you read it: read it again, "
    "reapply your change, retry with the new version.",
    EditCode.IN_USE: "Other content points at the item.",
}
EditErrorCode = graphql_enum(EditCode, _CODES)

# An edit as `run_edit` runs it: `edit(engine, actor)`.
Edit = Callable[[AsyncEngine, str], Awaitable[EditResult[Any]]]


class Create(Protocol):
    """A schema function that creates one kind of item (`schema.edits.create_topic`)."""

    def __call__(
        self, *, engine: AsyncEngine, data: dict[str, Any], actor: str
    ) -> Awaitable[EditResult[Any]]: ...


class Update(Protocol):
    """A schema function that changes one kind of item (`schema.edits.update_topic`)."""

    def __call__(
        self,
        *,
        engine: AsyncEngine,
        slug: str,
        expected_version: int,
        patch: dict[str, Any],
        actor: str,
    ) -> Awaitable[EditResult[Any]]: ...


class EditError(graphene.ObjectType):
    """One reason an edit was refused. A refused edit changes nothing."""

    field = graphene.String(
        description="Path of the argument or input field at fault, like "
        "`input.quotes[0].expert`; null when it is the edit as a whole."
    )
    message = graphene.String(required=True, description="What is wrong, for people.")
    code = EditErrorCode(required=True, description="What is wrong, for programs.")


def errors_field() -> graphene.List:
    return graphene.List(
        graphene.NonNull(EditError),
        required=True,
        description="Why the edit was refused; empty when it was made.",
    )


# Problems about the edit's arguments, not about the input's fields.
_ARGUMENT_CODES = {EditCode.NOT_FOUND, EditCode.VERSION_CONFLICT, EditCode.IN_USE}


def _path(loc: tuple[str | int, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{to_camel_case(str(part))}"
    return out.removeprefix(".")


def edit_errors(problems: list[EditProblem], input_argument: str | None) -> list[EditError]:
    """The problems as `EditError`s, input fields' paths under `input_argument`."""
    errors = []
    for problem in problems:
        path = _path(problem.loc)
        if problem.code not in _ARGUMENT_CODES and input_argument is not None:
            path = f"{input_argument}.{path}" if path else input_argument
        errors.append(EditError(field=path or None, message=problem.message, code=problem.code))
    return errors


async def run_edit(info: GraphQLResolveInfo, mutation: str, edit: Edit) -> EditResult[Any]:
    """Run `edit(engine, actor)` for a caller with the write scope (FORBIDDEN otherwise)."""
    context = context_of(info)
    context.caller.require(Scope.WRITE, f"`{mutation}`")
    await context.release()
    result = await edit(context.engine, context.caller.name)
    if result.row is not None:
        context.forget_loaded()
    return result


async def answer(
    info: GraphQLResolveInfo,
    mutation: str,
    edit: Edit,
    payload: type[graphene.ObjectType],
    field: str,
    argument: str | None,
) -> Any:
    """Run an edit and put its result and errors (paths under `argument`) in `payload`."""
    result = await run_edit(info, mutation, edit)
    return payload(**{field: result.row}, errors=edit_errors(result.problems, argument))


def slug_argument() -> graphene.String:
    return graphene.String(required=True, description="Slug of the item to change.")


def expected_version_argument(required: bool) -> graphene.Int:
    return graphene.Int(
        required=required,
        description="The version you read; if it changed since, the edit is refused with "
        "VERSION_CONFLICT" + ("." if required else " (leave out to skip the check)."),
    )


def create_field(
    *,
    mutation: str,
    input_type: Any,
    payload: type[graphene.ObjectType],
    field: str,
    create: Create,
    description: str,
) -> graphene.Field:
    """A `create<Kind>(input:)` field: `create` makes the item from the input as plain data,
    and the payload's `field` holds it."""

    async def resolve(root: Any, info: GraphQLResolveInfo, input: Any) -> Any:
        data = plain(input)
        return await answer(
            info,
            mutation,
            lambda engine, actor: create(engine=engine, data=data, actor=actor),
            payload,
            field,
            "input",
        )

    return graphene.Field(
        payload,
        input=input_type(required=True, description=f"The new {field}."),
        resolver=resolve,
        description=description,
    )


def update_field(
    *,
    mutation: str,
    patch_type: Any,
    payload: type[graphene.ObjectType],
    field: str,
    update: Update,
    description: str,
) -> graphene.Field:
    """An `update<Kind>(slug:, expectedVersion:, patch:)` field: `update` changes the item."""

    async def resolve(
        root: Any, info: GraphQLResolveInfo, slug: str, expected_version: int, patch: Any
    ) -> Any:
        data = plain(patch)
        return await answer(
            info,
            mutation,
            lambda engine, actor: update(
                engine=engine, slug=slug, expected_version=expected_version, patch=data, actor=actor
            ),
            payload,
            field,
            "patch",
        )

    return graphene.Field(
        payload,
        slug=slug_argument(),
        expected_version=expected_version_argument(required=True),
        patch=patch_type(required=True, description="The fields to change."),
        resolver=resolve,
        description=description,
    )
