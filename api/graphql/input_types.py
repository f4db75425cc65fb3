"""GraphQL input types, made once per kind for creating (`<Kind>Input`, required fields
required) and for patching (`<Kind>Patch`, every field optional), and their values read
back as plain data for `schema/`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import graphene

from api.graphql.enums import value_of


def plain(value: Any) -> Any:
    """GraphQL input (graphene containers, enum members) as plain dicts, lists and values."""
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value_of(value)


@dataclass(frozen=True)
class InputSpec:
    """One field of an input type: its GraphQL type, whether creating needs it, whether a
    patch may change it, and its description when it is not the output field's."""

    type: Any
    required: bool = False
    in_patch: bool = True
    description: str | None = None


def input_types(
    name: str,
    description: str,
    fields: dict[str, InputSpec],
    descriptions: Mapping[str, str],
) -> tuple[type[graphene.InputObjectType], type[graphene.InputObjectType]]:
    """`<name>Input` for creating and `<name>Patch` for updating (every field optional;
    a field left out keeps its value, a list given replaces the whole list). A field's
    description is its spec's, else `descriptions[field]` (the output type's)."""

    def describe(key: str, spec: InputSpec) -> str:
        return spec.description if spec.description is not None else descriptions[key]

    create = type(
        f"{name}Input",
        (graphene.InputObjectType,),
        {
            "__doc__": description,
            **{
                key: graphene.InputField(
                    graphene.NonNull(spec.type) if spec.required else spec.type,
                    description=describe(key, spec),
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
                key: graphene.InputField(spec.type, description=describe(key, spec))
                for key, spec in fields.items()
                if spec.in_patch
            },
        },
    )
    return create, patch
