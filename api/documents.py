"""GraphQL documents as the service keeps them: parsed within the token limit, measured
against the static limits, validated, and cached by query text, so a document sent again
costs one dictionary lookup (and its query cost, per distinct variables, another)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from graphql import (
    ArgumentNode,
    DocumentNode,
    GraphQLError,
    GraphQLFormattedError,
    GraphQLSchema,
    NoSchemaIntrospectionCustomRule,
    OperationDefinitionNode,
    VariableNode,
    specified_rules,
    validate,
)
from graphql.validation import OverlappingFieldsCanBeMergedRule

from api.cost import CostModel, as_int
from api.limits import (
    BoundedOverlapRule,
    Limits,
    check,
    measure,
    overlap_refusal,
    parse_within,
    refuse_size,
)
from api.plans import Plans

# A parsed document takes some 400 bytes a token (measured: 340 to 420) on top of its text;
# the cache holds at most CACHE_BYTES of that estimate.
BYTES_PER_TOKEN = 512
REFUSAL_BYTES = 1024  # a refused document keeps its formatted errors only
CACHE_BYTES = 64 * 1024 * 1024
COSTS_PER_DOCUMENT = 32  # distinct variable values whose cost is remembered
# Errors validation reports before it gives up: each one costs a scan of the document to
# find its line and column, and ten say enough.
MAX_ERRORS = 10


@dataclass
class Prepared:
    """A query text, ready to execute, or the errors that refuse it (formatted, so that
    they hold no reference to its syntax tree)."""

    document: DocumentNode | None
    errors: list[GraphQLFormattedError]
    weight: int  # estimated bytes it holds
    fragment_order: tuple[str, ...] = ()
    cost_variables: frozenset[str] = frozenset()
    operations: dict[str | None, OperationDefinitionNode] = field(default_factory=dict)
    _costs: dict[Hashable, int] = field(default_factory=dict)
    _plans: Plans | None = None

    def __post_init__(self) -> None:
        self._names = sorted(self.cost_variables)

    @property
    def plans(self) -> Plans:
        """The document's execution plans (api/plans.py), made when first executed."""
        assert self.document is not None
        if self._plans is None:
            self._plans = Plans(self.document)
        return self._plans

    def operation(self, name: str | None) -> OperationDefinitionNode | None:
        """The operation `name` asks for; without a name, the only one there is."""
        if name is None:
            return next(iter(self.operations.values())) if len(self.operations) == 1 else None
        return self.operations.get(name)

    def cost(
        self,
        model: CostModel,
        operation: OperationDefinitionNode,
        variables: Mapping[str, Any] | None,
    ) -> int:
        assert self.document is not None
        # Only what the cost model reads of a value (so a huge string sent for an Int is
        # never kept, and 100.0 and 100 are one key), and whether it was sent at all: null
        # and left out differ when the variable has a default.
        sent = variables or {}
        values = tuple(_as_read(sent[n]) if n in sent else "absent" for n in self._names)
        key = (operation.name.value if operation.name else None, values)
        cost = self._costs.get(key)
        if cost is not None:
            return cost
        cost = model.cost(self.document, operation, self.fragment_order, variables)
        if len(self._costs) >= COSTS_PER_DOCUMENT:
            self._costs.clear()
        self._costs[key] = cost
        return cost


def _as_read(value: Any) -> tuple[str, int | bool]:
    if isinstance(value, bool):
        return ("flag", value)
    number = as_int(value)
    if number is not None:
        return ("number", number)
    return ("null", True) if value is None else ("other", True)


def _tokens(document: DocumentNode) -> int:
    token, count = document.loc.start_token if document.loc else None, 0
    while token is not None:
        count, token = count + 1, token.next
    return count


# Arguments whose values the cost model reads (api/cost.py).
COST_ARGUMENTS = ("first", "last", "if", "search")


def _cost_variables(document: DocumentNode) -> frozenset[str]:
    """Variables whose values change the cost: page sizes, searches, @skip/@include."""
    names: set[str] = set()
    stack: list[Any] = list(document.definitions)
    while stack:
        node = stack.pop()
        if isinstance(node, ArgumentNode):
            if node.name.value in COST_ARGUMENTS and isinstance(node.value, VariableNode):
                names.add(node.value.name.value)
            continue
        for key in ("arguments", "directives"):
            stack.extend(getattr(node, key, None) or ())
        selection_set = getattr(node, "selection_set", None)
        if selection_set is not None:
            stack.extend(selection_set.selections)
    return frozenset(names)


class DocumentCache:
    """Prepared documents by query text, least recently used dropped first."""

    def __init__(
        self, schema: GraphQLSchema, *, size: int, limits: Limits, introspection: bool
    ) -> None:
        self.schema, self.size, self.limits = schema, size, limits
        self.hide_suggestions = not introspection
        self.rules = [
            BoundedOverlapRule if rule is OverlappingFieldsCanBeMergedRule else rule
            for rule in specified_rules
        ]
        if not introspection:
            self.rules.append(NoSchemaIntrospectionCustomRule)
        self.entries: OrderedDict[str, Prepared] = OrderedDict()
        self.weight = 0

    def prepare(self, query: str) -> Prepared:
        prepared = self.entries.get(query)
        if prepared is not None:
            self.entries.move_to_end(query)
            return prepared
        oversized = refuse_size(query, self.limits)
        if oversized is not None:
            return Prepared(None, [oversized.formatted], 0)  # not worth keeping
        prepared = self._prepare(query)
        if self.size > 0:
            self.entries[query] = prepared
            self.weight += prepared.weight
            while len(self.entries) > self.size or self.weight > CACHE_BYTES:
                _, dropped = self.entries.popitem(last=False)
                self.weight -= dropped.weight
        return prepared

    def _prepare(self, query: str) -> Prepared:
        refused = len(query) + REFUSAL_BYTES
        try:
            document = parse_within(query, self.limits)
        except GraphQLError as error:
            return Prepared(None, [error.formatted], refused)
        shape = measure(document)
        refusal = check(shape, self.limits)
        if refusal is not None:
            return Prepared(None, [refusal.formatted], refused)
        errors = validate(
            self.schema,
            document,
            self.rules,
            max_errors=MAX_ERRORS,
            hide_suggestions=self.hide_suggestions,
        )
        refusal = overlap_refusal(errors)
        if refusal is not None:
            return Prepared(None, [refusal.formatted], refused)
        if errors:
            formatted = [e.formatted for e in errors]
            return Prepared(None, formatted, len(query) + len(orjson.dumps(formatted)))
        return Prepared(
            document,
            [],
            len(query) + _tokens(document) * BYTES_PER_TOKEN,
            fragment_order=shape.fragment_order,
            cost_variables=_cost_variables(document),
            operations={
                d.name.value if d.name else None: d
                for d in document.definitions
                if isinstance(d, OperationDefinitionNode)
            },
        )
