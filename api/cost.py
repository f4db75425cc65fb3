"""Query cost: how much work a document asks for, computed before anything runs.

The model is GitHub's and Shopify's. Every object in the answer costs 1. A connection
costs 50 (the SQL it runs on its own, where objects are fetched in batches: measured at
~7 ms against ~0.1 ms an object) plus its page size (`first` or `last`, 20 by default)
times what each edge selects; edges and `pageInfo` come with it for free. A list costs
its size times what each item selects: `relatedPosts(first:)`, `revisions(first:)` and
`quotes(first:)` by their argument, other lists by the expected sizes below. Scalars are
free, except the large texts in `FIELD_COSTS`. A `search` costs 200 more (it counts every
match and ranks up to 200), each mutation 10 more. Variables count with the values sent;
fields skipped by `@skip`/`@include` count nothing; on an interface, the costliest type counts.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from graphql import (
    BooleanValueNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SchemaMetaFieldDef,
    SelectionSetNode,
    StringValueNode,
    TypeMetaFieldDef,
    ValueNode,
    VariableNode,
    get_named_type,
    get_nullable_type,
    is_abstract_type,
    is_composite_type,
    is_list_type,
    value_from_ast_untyped,
)

from schema.pagination import DEFAULT_PAGE, MAX_PAGE

MUTATION_COST = 10
CONNECTION_COST = 50
SEARCH_COST = 200
# Large texts: an article body is ~10 KB, so a hundred of them weigh more than a hundred
# small objects.
FIELD_COSTS = {
    "Article.body": 10,
    "Article.jsonLd": 5,
    "ArticleRevision.body": 10,
    "ArticleRevision.snapshot": 10,
}
# Expected sizes of lists without a page argument (a typical article has 4-8 sections,
# 3-5 topics, a few quotes and references). Every list of objects in the schema is listed
# here, sized by its argument, or the edges of a connection (a test keeps it so).
LIST_SIZES = {
    "Article.sections": 10,
    "Article.tableOfContents": 10,
    "Article.topics": 5,
    "Article.quotes": 5,
    "Article.experts": 5,
    "Article.references": 10,
    "Section.quotes": 2,
    "ArticlePayload.errors": 5,
    "DeleteArticlePayload.errors": 5,
    "TopicPayload.errors": 5,
    "ExpertPayload.errors": 5,
}
UNLISTED_SIZE = 10  # a list missing above (a test keeps there from being any)
# Objects that only give structure to what they hold: a connection's edges and page info,
# and `__Type.ofType` (a chain of wrappers around one type).
FREE_FIELDS = {"__Type.ofType"}


def as_int(value: Any) -> int | None:
    """`value` as GraphQL's Int takes it (a JSON 100.0 is 100), or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _free(type_name: str, key: str) -> bool:
    return type_name.endswith("Edge") or type_name == "PageInfo" or key in FREE_FIELDS


def _introspection_sizes(schema: GraphQLSchema) -> dict[str, int]:
    """Introspection lists sized by this schema: `types { fields }` asks each type for its
    fields, so on average a type has (all fields / all types) of them."""
    types = list(schema.type_map.values())
    composite = [t for t in types if isinstance(t, GraphQLObjectType | GraphQLInterfaceType)]
    fields = [f for t in composite for f in t.fields.values()]

    def share(total: int, among: int) -> int:
        return max(1, math.ceil(total / max(among, 1)))

    return {
        "__Schema.types": len(types),
        "__Schema.directives": len(schema.directives),
        "__Type.fields": share(len(fields), len(types)),
        "__Type.interfaces": share(sum(len(t.interfaces) for t in composite), len(types)),
        "__Type.possibleTypes": share(
            sum(
                len(schema.get_possible_types(t))
                for t in types
                if isinstance(t, GraphQLInterfaceType | GraphQLUnionType)
            ),
            len(types),
        ),
        "__Type.enumValues": share(
            sum(len(getattr(t, "values", ())) for t in types if hasattr(t, "values")),
            len(types),
        ),
        "__Type.inputFields": share(
            sum(len(t.fields) for t in types if isinstance(t, GraphQLInputObjectType)),
            len(types),
        ),
        "__Field.args": share(sum(len(f.args) for f in fields), len(fields)),
        "__Directive.args": share(
            sum(len(d.args) for d in schema.directives), len(schema.directives)
        ),
    }


class Uncountable(Exception):
    """Fragments nested too deeply to count (deeper than Python's recursion allows)."""


class CostModel:
    """The cost of operations on one schema."""

    def __init__(self, schema: GraphQLSchema) -> None:
        self.schema = schema
        self.list_sizes = {**LIST_SIZES, **_introspection_sizes(schema)}

    def cost(
        self,
        document: DocumentNode,
        operation: OperationDefinitionNode,
        fragment_order: tuple[str, ...],
        variables: Mapping[str, Any] | None,
    ) -> int:
        """The cost of `operation` with `variables`, for a validated document whose
        fragments come in dependency order (each after the fragments it spreads)."""
        try:
            return _Walk(self, document, operation, variables or {}).run(fragment_order)
        except RecursionError:
            raise Uncountable from None


class _Walk:
    """One cost computation. A fragment's cost is computed once per object type (and, for a
    fragment on a connection, per page size), first in dependency order, so that spreading
    it is a lookup rather than a recursion through a chain of fragments."""

    def __init__(
        self,
        model: CostModel,
        document: DocumentNode,
        operation: OperationDefinitionNode,
        variables: Mapping[str, Any],
    ) -> None:
        self.model, self.schema, self.operation = model, model.schema, operation
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.variables = {
            definition.variable.name.value: value_from_ast_untyped(definition.default_value)
            for definition in operation.variable_definitions or ()
            if definition.default_value is not None
        }
        self.variables.update(variables)
        self.fragment_costs: dict[tuple[str, str, int], int] = {}

    def run(self, fragment_order: tuple[str, ...]) -> int:
        for name in fragment_order:
            condition = self.schema.get_type(self.fragments[name].type_condition.name.value)
            for object_type in self._objects(condition):
                self._fragment(name, object_type, DEFAULT_PAGE)
        root = self.schema.get_root_type(self.operation.operation)
        assert root is not None  # validation refuses operations the schema does not have
        return self._selections(self.operation.selection_set, root, DEFAULT_PAGE)

    def _fragment(self, name: str, parent: GraphQLObjectType, page: int) -> int:
        """A fragment spread on an object of type `parent`. Only a fragment on a connection
        selects `edges` itself, so only its cost depends on the page it is spread in."""
        fragment = self.fragments.get(name)
        if fragment is None:
            return 0
        condition = fragment.type_condition.name.value
        if not condition.endswith("Connection"):
            page = DEFAULT_PAGE
        key = (name, parent.name, page)
        cost = self.fragment_costs.get(key)
        if cost is None:
            applies = self._applies(condition, parent)
            cost = self._selections(fragment.selection_set, parent, page) if applies else 0
            self.fragment_costs[key] = cost
        return cost

    def _objects(self, graphql_type: Any) -> tuple[GraphQLObjectType, ...]:
        if is_abstract_type(graphql_type):
            return tuple(self.schema.get_possible_types(graphql_type))
        return (graphql_type,) if isinstance(graphql_type, GraphQLObjectType) else ()

    def _applies(self, condition_name: str | None, object_type: GraphQLObjectType) -> bool:
        if condition_name is None or condition_name == object_type.name:
            return True
        condition = self.schema.get_type(condition_name)
        return condition is not None and object_type in self._objects(condition)

    def _selections(
        self, selection_set: SelectionSetNode | None, parent: GraphQLObjectType, page: int
    ) -> int:
        """What a selection set on an object of type `parent` costs; `page` is the page size
        of the connection it is in (the size of `edges`)."""
        total = 0
        for selection in selection_set.selections if selection_set else ():
            if not self._included(selection):
                continue
            if isinstance(selection, FieldNode):
                total += self._field(selection, parent, page)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                if self._applies(condition.name.value if condition else None, parent):
                    total += self._selections(selection.selection_set, parent, page)
            elif isinstance(selection, FragmentSpreadNode):
                total += self._fragment(selection.name.value, parent, page)
        return total

    def _field(self, node: FieldNode, parent: GraphQLObjectType, page: int) -> int:
        name = node.name.value
        definition = self._definition(parent, name)
        if definition is None:
            return 0  # __typename
        key = f"{parent.name}.{name}"
        own = FIELD_COSTS.get(key, 0)
        if parent is self.schema.mutation_type:
            own += MUTATION_COST
        item_type = get_named_type(definition.type)
        if not is_composite_type(item_type):
            return own
        if item_type.name.endswith("Connection"):
            page = self._page(node, definition)
            if self._argument(node, "search") is not None:
                own += SEARCH_COST
        count = 1
        if is_list_type(get_nullable_type(definition.type)):  # type: ignore[arg-type]  # graphql-core's overloads leave out the union of output types (any type is taken)
            if name == "edges":
                count = page
            elif "first" in definition.args or "last" in definition.args:
                count = self._page(node, definition)
            else:
                count = self.model.list_sizes.get(key, UNLISTED_SIZE)
        if _free(item_type.name, key):
            item = 0
        elif item_type.name.endswith("Connection"):
            item = CONNECTION_COST
        else:
            item = 1
        # Only one of an interface's types answers: count the costliest.
        item += max(
            (self._selections(node.selection_set, t, page) for t in self._objects(item_type)),
            default=0,
        )
        return own + count * item

    def _definition(self, parent: GraphQLObjectType, name: str) -> GraphQLField | None:
        if parent is self.schema.query_type:
            if name == "__schema":
                return SchemaMetaFieldDef
            if name == "__type":
                return TypeMetaFieldDef
        field: GraphQLField | None = parent.fields.get(name)
        return field

    def _page(self, node: FieldNode, definition: GraphQLField) -> int:
        """Items a paged field or connection asks for: `last`, else `first`, else its
        default; at most MAX_PAGE (a larger request is refused when it runs)."""
        last, first = (self._int_argument(node, definition, n) for n in ("last", "first"))
        size = last if last is not None else first if first is not None else DEFAULT_PAGE
        return max(0, min(size, MAX_PAGE))

    def _int_argument(self, node: FieldNode, definition: GraphQLField, name: str) -> int | None:
        argument = next((a for a in node.arguments or () if a.name.value == name), None)
        if argument is not None:
            value = self._value(argument.value)
        else:
            declared = definition.args.get(name)
            value = None if declared is None else declared.default_value
        return as_int(value)

    def _argument(self, node: FieldNode, name: str) -> Any:
        argument = next((a for a in node.arguments or () if a.name.value == name), None)
        return None if argument is None else self._value(argument.value)

    def _value(self, node: ValueNode) -> Any:
        if isinstance(node, VariableNode):
            return self.variables.get(node.name.value)
        if isinstance(node, IntValueNode):
            return int(node.value)
        if isinstance(node, BooleanValueNode):
            return node.value
        if isinstance(node, StringValueNode):
            return node.value
        return None

    def _included(self, selection: Any) -> bool:
        """False only when @skip(if: true) or @include(if: false) say so for certain."""
        for directive in selection.directives or ():
            if directive.name.value not in ("skip", "include"):
                continue
            condition = next((a for a in directive.arguments if a.name.value == "if"), None)
            value = self._value(condition.value) if condition else None
            if isinstance(value, bool) and value == (directive.name.value == "skip"):
                return False
        return True
