"""Our enums as GraphQL enums, and GraphQL enum values back as ours: the one place that
converts between them."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any, TypeVar

import graphene

E = TypeVar("E", bound=enum.Enum)


def graphql_enum(ours: type[enum.Enum], descriptions: Mapping[Any, str]) -> Any:
    """A GraphQL enum of the same name and values as `ours`; `descriptions[None]` describes
    the type and `descriptions[member]` each value."""
    # graphene asks the callable for the type's description (None) and each value's.
    return graphene.Enum.from_enum(ours, description=lambda member: descriptions[member])


def value_of(value: Any) -> Any:
    """The plain value of a GraphQL enum argument or input field: graphene passes a member of
    the Python enum behind the GraphQL enum, but a default given as a value as it is."""
    return value.value if isinstance(value, enum.Enum) else value


def ours(kind: type[E], value: Any) -> E:
    """A GraphQL enum argument as the member of our enum `kind` with the same value."""
    return kind(value_of(value))
