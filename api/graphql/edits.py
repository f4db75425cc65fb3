"""What every mutation shares: typed errors in the payload, input types built once for
create (required fields) and patch (all optional), and running an edit as the caller."""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import graphene
from graphene.utils.str_converters import to_camel_case
from graphql import GraphQLResolveInfo

from schema.editing import EditCode as CodeEnum
from schema.editing import EditProblem, EditResult
from schema.keys import Scope

_CODES = {
    None: "Why an edit was refused.",
    CodeEnum.INVALID_INPUT: "A value is wrong; the message says how, `field` says where.",
    CodeEnum.NOT_FOUND: "The item to change does not exist.",
    CodeEnum.ALREADY_EXISTS: "Another item already has that slug.",
    CodeEnum.VERSION_CONFLICT: "Someone changed the item since you read it: read it again, "
    "reapply your change, retry with the new version.",
    CodeEnum.IN_USE: "Other content points at the item.",
}
EditErrorCode = graphene.Enum.from_enum(CodeEnum, description=lambda v: _CODES[v])


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
_ARGUMENT_CODES = {CodeEnum.NOT_FOUND, CodeEnum.VERSION_CONFLICT, CodeEnum.IN_USE}


def _path(loc: tuple[str | int, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{to_camel_case(str(part))}"
    return out.removeprefix(".")


def edit_errors(problems: list[EditProblem], input_argument: str | None) -> list[EditError]:
    errors = []
    for problem in problems:
        path = _path(problem.loc)
        if problem.code not in _ARGUMENT_CODES and input_argument is not None:
            path = f"{input_argument}.{path}" if path else input_argument
        errors.append(EditError(field=path or None, message=problem.message, code=problem.code))
    return errors


def plain(value: Any) -> Any:
    """GraphQL input (graphene containers, enum members) as plain dicts, lists and values."""
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    if isinstance(value, enum.Enum):
        return value.value
    return value


@dataclass(frozen=True)
class InputSpec:
    """One field of an input type: its GraphQL type, description, and whether creating
    needs it."""

    type: Any
    description: str
    required: bool = False
    in_patch: bool = True


def input_types(
    name: str, description: str, fields: dict[str, InputSpec]
) -> tuple[type[graphene.InputObjectType], type[graphene.InputObjectType]]:
    """`<name>Input` for creating and `<name>Patch` for updating (every field optional;
    a field left out keeps its value, a list given replaces the whole list)."""
    create = type(
        f"{name}Input",
        (graphene.InputObjectType,),
        {
            "__doc__": description,
            **{
                key: graphene.InputField(
                    graphene.NonNull(spec.type) if spec.required else spec.type,
                    description=spec.description,
                )
                for key, spec in fields.items()
            },
        },
    )
    patch = type(
        f"{name}Patch",
        (graphene.InputObjectType,),
        {
            "__doc__": f"Changes to make to {description[0].lower()}{description[1:]} Fields "
            "left out keep their value; a list given replaces the whole list.",
            **{
                key: graphene.InputField(spec.type, description=spec.description)
                for key, spec in fields.items()
                if spec.in_patch
            },
        },
    )
    return create, patch


async def run_edit(
    info: GraphQLResolveInfo,
    mutation: str,
    edit: Callable[[Any, str], Awaitable[EditResult[Any]]],
) -> EditResult[Any]:
    """Run `edit(engine, actor)` for a caller with the write scope (FORBIDDEN otherwise)."""
    context = info.context
    context.caller.require(Scope.WRITE, f"`{mutation}`")
    await context.release()
    result = await edit(context.engine, context.caller.name)
    if result.row is not None:
        context.forget_loaded()
    return result
