"""The public contract: the committed SDL file is current, and everything is described."""

from __future__ import annotations

from pathlib import Path

from graphql import GraphQLEnumType, GraphQLInputObjectType, GraphQLInterfaceType, GraphQLObjectType

from api.graphql.schema import schema

SDL = Path(__file__).resolve().parents[2] / "schema" / "schema.graphql"


def test_committed_sdl_is_current() -> None:
    assert SDL.read_text() == str(schema).strip() + "\n", (
        "schema/schema.graphql is out of date: run "
        "`.venv/bin/healthcontent schema > schema/schema.graphql`"
    )


def test_every_type_field_argument_and_value_has_a_description() -> None:
    missing = []
    for name, graphql_type in schema.graphql_schema.type_map.items():
        if name.startswith("__"):
            continue
        if not graphql_type.description:
            missing.append(name)
        if isinstance(graphql_type, GraphQLObjectType | GraphQLInterfaceType):
            for field_name, field in graphql_type.fields.items():
                if not field.description:
                    missing.append(f"{name}.{field_name}")
                for arg_name, arg in field.args.items():
                    if not arg.description:
                        missing.append(f"{name}.{field_name}({arg_name})")
        if isinstance(graphql_type, GraphQLInputObjectType):
            missing += [f"{name}.{f}" for f, v in graphql_type.fields.items() if not v.description]
        if isinstance(graphql_type, GraphQLEnumType):
            missing += [
                f"{name}.{v}" for v, value in graphql_type.values.items() if not value.description
            ]
    assert missing == []
