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

from collections.abc import Callable
from typing import Any

from graphql import (
    DocumentNode,
    ExecutionContext,
    ExecutionResult,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    execute,
)

from api.plan_runs import Fallback, Run, is_awaitable
from api.plans import (
    Plans,
)
from api.reads import Reads, Tagging


class Mismatch(AssertionError):
    """`EXECUTOR_CHECK`: the fast path and graphql-core answered differently."""


MISMATCHES: list[str] = []  # every Mismatch of this process (the test suite checks it)


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
        if not isinstance(result, ExecutionResult):
            result = await result
        return result
