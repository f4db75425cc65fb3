"""The query executor: a validated query operation, planned once per document, run as
straight loops over that plan; graphql-core stays the reference and the fallback.

graphql-core completes every field of every object through the same generic path: it looks
the field up, coerces its arguments, builds a `ResolveInfo`, and asks of each value which kind
of type it completes to. For a list of twenty articles that is some 270 fields and 40 % of the
request's CPU. Here that work is done once: `Plan` holds, for each selection of the document,
the fields in response order with their definition, resolver and completion (leaf, list,
non-null, object, abstract) already decided. Each request adds what depends on it (its
variables' argument values and one `ResolveInfo` per planned field, not per value) and then
walks the plan.

Resolvers must not change the arguments they are given: values written as literals are
coerced once per plan and shared by every request (graphql-core coerces them afresh).

What the fast path does not take on itself, it hands back to graphql-core: any error (a
resolver's exception, a null for a non-null field, a value of the wrong type) and variables
that do not coerce make `execute` run the operation again through graphql-core's `execute`,
so error messages, paths and null propagation are graphql-core's own. Only queries come here
(reads, safe to run twice); mutations go to graphql-core directly. A differential check
(`EXECUTOR_CHECK=1`, on in the test suite) runs every query through both and refuses a
difference.

Awaitable values (loaders a plan could not foresee) are collected level by level and awaited
together, so the loaders still batch.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from functools import partial
from types import GeneratorType
from typing import Any

from graphene.types.resolver import dict_or_attr_resolver
from graphql import (
    DocumentNode,
    ExecutionContext,
    ExecutionResult,
    FieldNode,
    GraphQLAbstractType,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    VariableNode,
    default_field_resolver,
    default_type_resolver,
    execute,
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
from graphql.pyutils import Path, Undefined, is_iterable
from graphql.pyutils import is_awaitable as any_awaitable

_awaitable_types: dict[type, bool] = {}


def is_awaitable(value: Any) -> bool:
    """graphql-core's test, answered once per type: it runs for every field of a response,
    and `hasattr(row, "__await__")` on an ORM row costs a failed attribute lookup each time."""
    kind = type(value)
    try:
        return _awaitable_types[kind]
    except KeyError:
        if kind is GeneratorType:  # old generator-based coroutines: ask each one
            return bool(any_awaitable(value))
        answer = _awaitable_types[kind] = any_awaitable(value)
        return answer


# How a value completes (the first item of a completion tuple).
LEAF, LIST, NON_NULL, OBJECT, ABSTRACT = range(5)
# Distinct @skip/@include values planned per document. A plan holds some 300 bytes a field
# (fields are fewer than tokens), so a document's plans cost at most a few times what the
# document cache counts for the document itself.
PLANS_PER_DOCUMENT = 4


@dataclass(frozen=True)
class Tagging:
    """What an answer read, in cache tags (see api/graphql/cache_tags.py): the fast path
    notes them as it completes objects, at no cost to a plan that has none."""

    # GraphQL type -> the tag of one of its values ("Article" -> "Article:12").
    entities: Mapping[str, Callable[[Any], str]] = dataclass_field(default_factory=dict)
    # Type -> tags that a null where one was asked for depends on (it may appear).
    absent: Mapping[str, tuple[str, ...]] = dataclass_field(default_factory=dict)
    # Type -> tag of any list or ranking of its kind ("ArticleConnection" -> "list:Article").
    lists: Mapping[str, str] = dataclass_field(default_factory=dict)
    # (parent type, field) -> tags it reads besides its objects' ("Article", "relatedPosts":
    # ranked among all articles).
    fields: Mapping[tuple[str, str], tuple[str, ...]] = dataclass_field(default_factory=dict)
    # Type -> when what a value of it says stops being true (a review falling due), if ever.
    expires: Mapping[str, Callable[[Any], dt.datetime | None]] = dataclass_field(
        default_factory=dict
    )


@dataclass
class Reads:
    """What a fast-path answer read: its tags, and when it stops being true (None: never)."""

    tags: set[str] = dataclass_field(default_factory=set)
    expires: dt.datetime | None = None


class Fallback(Exception):
    """The fast path met something graphql-core must answer (an error, mostly)."""


class Mismatch(AssertionError):
    """`EXECUTOR_CHECK`: the fast path and graphql-core answered differently."""


MISMATCHES: list[str] = []  # every Mismatch of this process (the test suite checks it)


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
            d.name.value: d for d in document.definitions if d.kind == "fragment_definition"
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
            if definition is None:
                continue  # graphql-core leaves the key out too (validation prevents it)
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
            return (LEAF, kind.serialize)  # type: ignore[union-attr]
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


class Run:
    """One request's walk over a plan."""

    def __init__(self, plan: Plan, context: ExecutionContext) -> None:
        self.plan, self.context = plan, context
        self.slots: list[tuple[GraphQLResolveInfo, dict[str, Any]] | None] = [None] * len(
            plan.fields
        )
        # (container, key, awaitable, completion, info, tags read if it turns out null)
        self.pending: list[
            tuple[Any, Any, Any, tuple[Any, ...], GraphQLResolveInfo, tuple[str, ...]]
        ] = []
        self.reads = Reads()

    def _slot(self, field: FieldPlan) -> tuple[GraphQLResolveInfo, dict[str, Any]]:
        """The field's ResolveInfo and arguments for this request. graphql-core builds them
        for every value; the path they carry here has no list indexes (nothing of ours reads
        it, and an error's path comes from graphql-core, which answers every error)."""
        context = self.context
        arguments = field.arguments
        if arguments is None:
            arguments = get_argument_values(
                field.definition, field.nodes[0], context.variable_values
            )
        info = GraphQLResolveInfo(
            field.nodes[0].name.value,
            field.nodes,
            field.definition.type,
            field.parent,
            Path(None, field.key, field.parent.name),
            context.schema,
            context.fragments,
            context.root_value,
            context.operation,
            context.variable_values,
            context.context_value,
            is_awaitable,
        )
        slot = self.slots[field.index] = (info, arguments)
        return slot

    def fields(self, selection: list[FieldPlan], source: Any) -> dict[str, Any]:
        result: dict[str, Any] = {}
        slots = self.slots
        for field in selection:
            attribute = field.attribute
            slot = slots[field.index] or self._slot(field)
            info = slot[0]
            try:
                if attribute is not None:
                    if isinstance(source, dict):
                        value = source.get(attribute, field.default)
                    else:
                        value = getattr(source, attribute, field.default)
                else:
                    value = field.resolve(source, info, **slot[1])
            except Exception as error:
                raise Fallback from error
            if field.tags:
                self.reads.tags.update(field.tags)
            if value is None and field.absent:
                self.reads.tags.update(field.absent)
            if is_awaitable(value):
                result[field.key] = None
                self.pending.append(
                    (result, field.key, value, field.completion, info, field.absent)
                )
            else:
                result[field.key] = self.complete(field.completion, value, info)
        return result

    def complete(self, completion: tuple[Any, ...], value: Any, info: GraphQLResolveInfo) -> Any:
        if isinstance(value, Exception):
            raise Fallback
        kind = completion[0]
        if kind == NON_NULL:
            completed = self.complete(completion[1], value, info)
            if completed is None:
                raise Fallback
            return completed
        if value is None or value is Undefined:
            return None
        if kind == LEAF:
            try:
                serialized = completion[1](value)
            except Exception as error:
                raise Fallback from error
            if serialized is None or serialized is Undefined:
                raise Fallback
            return serialized
        if kind == OBJECT:
            is_type_of = completion[3]
            if is_type_of is not None and not self._is_type_of(is_type_of, value, info):
                raise Fallback
            if completion[4] is not None or completion[5] is not None:
                self._note(completion[4], completion[5], completion[6], value)
            return self.fields(completion[2], value)
        if kind == LIST:
            return self._list(completion[1], value, info)
        return self._abstract(completion, value, info)

    def _note(
        self,
        entity: Callable[[Any], str] | None,
        listed: str | None,
        expires: Callable[[Any], dt.datetime | None] | None,
        value: Any,
    ) -> None:
        """The tags (and expiry) of an object of a tagged type."""
        reads = self.reads
        if listed is not None:
            reads.tags.add(listed)
        if entity is not None:
            reads.tags.add(entity(value))
        if expires is not None:
            moment = expires(value)
            if moment is not None and (reads.expires is None or moment < reads.expires):
                reads.expires = moment

    @staticmethod
    def _is_type_of(is_type_of: Callable[..., Any], value: Any, info: GraphQLResolveInfo) -> bool:
        try:
            answer = is_type_of(value, info)
        except Exception as error:
            raise Fallback from error
        if is_awaitable(answer):
            _discard(answer)
            raise Fallback
        return bool(answer)

    def _list(self, item: tuple[Any, ...], value: Any, info: GraphQLResolveInfo) -> list[Any]:
        if not is_iterable(value):
            raise Fallback
        completed: list[Any] = []
        for index, element in enumerate(value):
            if is_awaitable(element):
                completed.append(None)
                self.pending.append((completed, index, element, item, info, ()))
            else:
                completed.append(self.complete(item, element, info))
        return completed

    def _abstract(
        self, completion: tuple[Any, ...], value: Any, info: GraphQLResolveInfo
    ) -> dict[str, Any]:
        abstract: GraphQLAbstractType = completion[1]
        resolve_type = abstract.resolve_type or default_type_resolver
        try:
            name = resolve_type(value, info, abstract)
        except Exception as error:
            raise Fallback from error
        if is_awaitable(name):
            _discard(name)
            raise Fallback
        schema = self.plan.schema
        runtime = schema.get_type(name) if isinstance(name, str) else None
        if not isinstance(runtime, GraphQLObjectType) or not schema.is_sub_type(abstract, runtime):
            raise Fallback
        if runtime.is_type_of is not None and not self._is_type_of(runtime.is_type_of, value, info):
            raise Fallback
        tagging = self.plan.tagging
        entity, listed = tagging.entities.get(runtime.name), tagging.lists.get(runtime.name)
        if entity is not None or listed is not None:
            self._note(entity, listed, tagging.expires.get(runtime.name), value)
        selection = self.plan.runtime_selection(completion, runtime)
        missing = len(self.plan.fields) - len(self.slots)
        if missing > 0:  # planned just now
            self.slots.extend([None] * missing)
        return self.fields(selection, value)

    async def settle(self) -> None:
        """Await what resolvers left pending, level by level (all of a level together, so
        loaders batch), completing each value where its placeholder stands. The first
        failure ends the wait at once, as in graphql-core: what still runs is left to the
        request's end to stop."""
        while self.pending:
            batch, self.pending = self.pending, []
            try:
                values = await asyncio.gather(*(entry[2] for entry in batch))
            except Exception as error:
                raise Fallback from error
            for (container, key, _, completion, info, absent), value in zip(
                batch, values, strict=True
            ):
                if value is None and absent:
                    self.reads.tags.update(absent)
                container[key] = self.complete(completion, value, info)

    def abandon(self) -> None:
        for entry in self.pending:
            _discard(entry[2])
        self.pending = []


def _discard(awaitable: Any) -> None:
    """A coroutine that will never be awaited is closed (no 'never awaited' warning)."""
    close = getattr(awaitable, "close", None)
    if asyncio.iscoroutine(awaitable) and close is not None:
        close()


class Executor:
    """Runs operations: queries on the fast path (planned per document), everything else,
    and whatever the fast path hands back, through graphql-core."""

    def __init__(
        self,
        schema: GraphQLSchema,
        *,
        hide_suggestions: bool,
        check: bool,
        tagging: Tagging | None = None,
    ) -> None:
        self.schema, self.hide_suggestions, self.check = schema, hide_suggestions, check
        self.tagging = tagging or Tagging()
        self.fast_runs = self.fallbacks = 0

    async def execute(
        self,
        document: DocumentNode,
        operation: OperationDefinitionNode,
        plans: Plans,
        *,
        context_value: Any,
        variable_values: dict[str, Any] | None,
        operation_name: str | None,
        restore: Callable[[], Callable[[], None]] | None = None,
        fatal: Callable[[BaseException], bool] | None = None,
    ) -> tuple[ExecutionResult, Reads | None]:
        """The operation's result, and what it read (None: not known, when graphql-core
        answered). `plans` is the document's own cache of plans. `restore`,
        for the differential check, snapshots what a run changes in the context and returns
        how to put it back (so that the check's second run leaves no trace). `fatal` says
        which errors end the request whatever executes it (the database unreachable, the
        request already over): those are raised, not run again through graphql-core."""
        if operation.operation != OperationType.QUERY:
            return (
                await self._reference(document, context_value, variable_values, operation_name),
                None,
            )
        fast = await self._fast(
            document, operation, plans, context_value, variable_values, operation_name, fatal
        )
        if fast is None:
            self.fallbacks += 1
            return (
                await self._reference(document, context_value, variable_values, operation_name),
                None,
            )
        result, reads = fast
        self.fast_runs += 1
        if self.check:
            put_back = restore() if restore is not None else None
            reference = await self._reference(
                document, context_value, variable_values, operation_name
            )
            if put_back is not None:
                put_back()
            # repr, not ==: the order of a response's keys matters too.
            if repr((result.data, result.errors)) != repr((reference.data, reference.errors)):
                message = (
                    f"the fast executor answered {result.data!r}, graphql-core "
                    f"{reference.data!r} {reference.errors!r}"
                )
                MISMATCHES.append(message)
                raise Mismatch(message)
        return result, reads

    async def _fast(
        self,
        document: DocumentNode,
        operation: OperationDefinitionNode,
        plans: Plans,
        context_value: Any,
        variable_values: dict[str, Any] | None,
        operation_name: str | None,
        fatal: Callable[[BaseException], bool] | None,
    ) -> tuple[ExecutionResult, Reads] | None:
        context = ExecutionContext.build(
            self.schema,
            document,
            context_value=context_value,
            raw_variable_values=variable_values,
            operation_name=operation_name,
            is_awaitable=is_awaitable,
        )
        if isinstance(context, list):
            return None  # variables that do not coerce: graphql-core words the errors
        run: Run | None = None
        try:
            # Planning may raise too (a null sent for a variable whose default made it valid,
            # even in a branch graphql-core would never reach): graphql-core answers that.
            plan = plans.plan(
                self.schema, document, operation, context.variable_values, self.tagging
            )
            run = Run(plan, context)
            data = run.fields(plan.root, context.root_value)
            await run.settle()
        except Exception as error:
            if run is not None:
                run.abandon()
            cause = error.__cause__ if isinstance(error, Fallback) else error
            if cause is not None and fatal is not None and fatal(cause):
                raise cause from None  # running it again would only fail again, slowly
            return None
        return ExecutionResult(data, None), run.reads

    async def _reference(
        self,
        document: DocumentNode,
        context_value: Any,
        variable_values: dict[str, Any] | None,
        operation_name: str | None,
    ) -> ExecutionResult:
        result = execute(
            self.schema,
            document,
            context_value=context_value,
            variable_values=variable_values,
            operation_name=operation_name,
            hide_suggestions=self.hide_suggestions,
            is_awaitable=is_awaitable,
        )
        if is_awaitable(result):
            result = await result  # type: ignore[misc]
        assert isinstance(result, ExecutionResult)
        return result


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
