"""Run: one request's walk over a plan (api/plans.py).

Each request adds what depends on it (its variables' argument values and one `ResolveInfo`
per planned field, not per value), then walks the plan as straight loops. Awaitable values
(loaders a plan could not foresee) are collected level by level and awaited together, so the
loaders still batch. Anything graphql-core must answer (an error, mostly) raises `Fallback`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from types import GeneratorType
from typing import Any

from graphql import (
    ExecutionContext,
    GraphQLAbstractType,
    GraphQLObjectType,
    GraphQLResolveInfo,
    default_type_resolver,
)
from graphql.execution.values import get_argument_values
from graphql.pyutils import Path, Undefined, is_iterable
from graphql.pyutils import is_awaitable as any_awaitable

from api.plans import (
    LEAF,
    LIST,
    NON_NULL,
    OBJECT,
    FieldPlan,
    Plan,
)
from api.reads import Reads

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


class Fallback(Exception):
    """The fast path met something graphql-core must answer (an error, mostly)."""


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
