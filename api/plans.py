"""Plans: a validated query operation, planned once per document (and per set of
@skip/@include values), for api/executor.py.

For each selection of the document a `Plan` holds the fields in response order with their
definition, resolver and completion (leaf, list, non-null, object, abstract) already decided.
Values written as literals are coerced once per plan and shared by every request.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from functools import partial
from typing import Any

from graphene.types.resolver import dict_or_attr_resolver
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLEnumType,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    GraphQLSchema,
    OperationDefinitionNode,
    VariableNode,
    default_field_resolver,
    get_named_type,
    is_abstract_type,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
    is_object_type,
)
from graphql.execution.collect_fields import collect_fields, collect_sub_fields
from graphql.execution.execute import get_field_def
from graphql.execution.values import get_argument_values
from graphql.pyutils import Undefined

from api.reads import Tagging

# How a value completes (the first item of a completion tuple).
LEAF, LIST, NON_NULL, OBJECT, ABSTRACT = range(5)
# Distinct @skip/@include values planned per document. A plan holds some 300 bytes a field
# (fields are fewer than tokens), so a document's plans cost at most a few times what the
# document cache counts for the document itself.
PLANS_PER_DOCUMENT = 4


class FieldPlan:
    """One response key of a selection: what to call and how to complete what it returns."""

    __slots__ = (
        "absent",
        "arguments",
        "attribute",
        "completion",
        "default",
        "definition",
        "index",
        "key",
        "nodes",
        "parent",
        "resolve",
        "tags",
    )  # fmt: skip

    def __init__(
        self,
        key: str,
        nodes: list[FieldNode],
        definition: GraphQLField,
        parent: GraphQLObjectType,
        completion: tuple[Any, ...],
        index: int,
    ) -> None:
        self.key, self.nodes, self.definition, self.parent = key, nodes, definition, parent
        self.completion, self.index = completion, index
        self.tags: tuple[str, ...] = ()  # read whenever the field is
        self.absent: tuple[str, ...] = ()  # read when the field is null
        resolve = definition.resolve or default_field_resolver
        self.resolve = resolve
        # graphene's default resolver, `partial(dict_or_attr_resolver, name, default)`, is
        # read inline: a dict's item or an object's attribute.
        self.attribute: str | None = None
        self.default: Any = None
        if (
            isinstance(resolve, partial)
            and resolve.func is dict_or_attr_resolver
            and len(resolve.args) == 2
            and not resolve.keywords
        ):
            self.attribute, self.default = resolve.args
        # Arguments written as literals coerce the same for every request: once, here.
        self.arguments: dict[str, Any] | None = None
        if not definition.args:
            self.arguments = {}
        elif not _uses_variables(nodes[0]):
            self.arguments = get_argument_values(definition, nodes[0], None)


def _uses_variables(node: FieldNode) -> bool:
    stack: list[Any] = [argument.value for argument in node.arguments or ()]
    while stack:
        value = stack.pop()
        if isinstance(value, VariableNode):
            return True
        stack.extend(getattr(value, "values", None) or ())
        stack.extend(field.value for field in getattr(value, "fields", None) or ())
    return False


class Plan:
    """A query operation planned for one set of @skip/@include values: the root's fields,
    and below them every selection's fields, planned as first reached."""

    def __init__(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        operation: OperationDefinitionNode,
        variables: Mapping[str, Any],
        tagging: Tagging,
    ) -> None:
        self.schema, self.tagging = schema, tagging
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.operation = operation
        # Only @skip/@include read variables while fields are collected: those values are
        # fixed for this plan (see `Plans`), and the only ones it keeps.
        self.variables = dict(variables)
        self.fields: list[FieldPlan] = []
        root = schema.query_type
        assert root is not None
        collected = collect_fields(
            schema, self.fragments, self.variables, root, operation.selection_set
        )
        self.root = self._plan_fields(root, collected)

    def _plan_fields(
        self, parent: GraphQLObjectType, collected: Mapping[str, list[FieldNode]]
    ) -> list[FieldPlan]:
        plans = []
        for key, nodes in collected.items():
            definition = get_field_def(self.schema, parent, nodes[0])
            if definition is None:  # annotated as never None, but None for an unknown field
                continue  # type: ignore[unreachable]  # graphql-core leaves the key out too
            completion = self._completion(definition.type, nodes)
            plan = FieldPlan(key, nodes, definition, parent, completion, len(self.fields))
            tagging = self.tagging
            plan.tags = tagging.fields.get((parent.name, nodes[0].name.value), ())
            plan.absent = tagging.absent.get(get_named_type(definition.type).name, ())
            self.fields.append(plan)
            plans.append(plan)
        return plans

    def _completion(self, kind: GraphQLOutputType, nodes: list[FieldNode]) -> tuple[Any, ...]:
        if is_non_null_type(kind):
            assert isinstance(kind, GraphQLNonNull)
            return (NON_NULL, self._completion(kind.of_type, nodes))
        if is_list_type(kind):
            assert isinstance(kind, GraphQLList)
            return (LIST, self._completion(kind.of_type, nodes))
        if is_leaf_type(kind):
            assert isinstance(kind, (GraphQLScalarType, GraphQLEnumType))
            return (LEAF, kind.serialize)
        if is_object_type(kind):
            assert isinstance(kind, GraphQLObjectType)
            return (
                OBJECT,
                kind,
                self._selection(kind, nodes),
                kind.is_type_of,
                self.tagging.entities.get(kind.name),
                self.tagging.lists.get(kind.name),
                self.tagging.expires.get(kind.name),
            )
        assert is_abstract_type(kind)
        # Object types behind an interface or union are planned when first met.
        planned: dict[str, list[FieldPlan]] = {}
        return (ABSTRACT, kind, nodes, planned)

    def _selection(self, kind: GraphQLObjectType, nodes: list[FieldNode]) -> list[FieldPlan]:
        collected = collect_sub_fields(self.schema, self.fragments, self.variables, kind, nodes)
        return self._plan_fields(kind, collected)

    def runtime_selection(
        self, completion: tuple[Any, ...], kind: GraphQLObjectType
    ) -> list[FieldPlan]:
        planned: dict[str, list[FieldPlan]] = completion[3]
        selection = planned.get(kind.name)
        if selection is None:
            selection = planned[kind.name] = self._selection(kind, completion[2])
        return selection


def directive_variables(document: DocumentNode) -> frozenset[str]:
    """Variables that @skip/@include read: a plan is made per set of their values."""
    names: set[str] = set()
    stack: list[Any] = list(document.definitions)
    while stack:
        node = stack.pop()
        for directive in getattr(node, "directives", None) or ():
            for argument in directive.arguments or ():
                if isinstance(argument.value, VariableNode):
                    names.add(argument.value.name.value)
        selection_set = getattr(node, "selection_set", None)
        if selection_set is not None:
            stack.extend(selection_set.selections)
    return frozenset(names)


class Plans:
    """A document's plans, one per set of @skip/@include values (kept with the document)."""

    def __init__(self, document: DocumentNode) -> None:
        self.names = sorted(directive_variables(document))
        self.plans: dict[Hashable, Plan] = {}

    def plan(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        operation: OperationDefinitionNode,
        variables: Mapping[str, Any],
        tagging: Tagging,
    ) -> Plan:
        key = (
            operation.name.value if operation.name else None,
            tuple(_hashable(variables.get(name, Undefined)) for name in self.names),
        )
        plan = self.plans.get(key)
        if plan is None:
            if len(self.plans) >= PLANS_PER_DOCUMENT:
                self.plans.clear()
            wanted = {name: variables[name] for name in self.names if name in variables}
            plan = self.plans[key] = Plan(schema, document, operation, wanted, tagging)
        return plan


def _hashable(value: Any) -> Any:
    return value if isinstance(value, (bool, type(None))) else repr(value)
