"""Static limits on GraphQL documents: tokens, aliases, directives, depth, overlap checks.

They are checked once per document, between parsing and validation (so that validation,
whose cost grows faster than the document, only ever sees bounded documents), and the
outcome is cached with the document. A document over a limit is refused before anything
executes, with an error whose `extensions.code` names the limit.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DirectiveNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    Node,
    OperationDefinitionNode,
    ValidationContext,
    parse,
)
from graphql.validation import OverlappingFieldsCanBeMergedRule

from api.errors import ErrorCode

# Comparisons validation may spend on fields that share a response name (graphql-core's own
# budget is 500,000: half a second of CPU for one document). Real documents use a few
# hundred; 1,000 duplicated `__typename`s would take about a second without this.
OVERLAP_BUDGET = 20_000
INTROSPECTION_FIELDS = ("__schema", "__type")


@dataclass(frozen=True)
class Limits:
    chars: int
    tokens: int
    depth: int
    aliases: int
    directives: int
    variable_values: int


# GraphQL's tokens, roughly, for counting them at the regular-expression engine's speed in
# documents too large to parse: comments and separators first (not counted), then strings
# whole, then punctuators, names and numbers. It only chooses the code of a refusal.
_TOKENS = re.compile(
    r"""(?P<skip>[\s,\ufeff]+)|(?P<comment>\#[^\n\r]*)
    |\"\"\"[^"\\]*(?:(?:\\\"\"\"|\\|"(?!""))[^"\\]*)*(?:\"\"\"|\Z)
    |"[^"\\\n\r]*(?:\\.[^"\\\n\r]*)*"?
    |\.\.\.|[!$&():=@\[\]{|}]|[-\w.+]+|.""",
    re.VERBOSE | re.DOTALL,
)


def _more_tokens_than(query: str, limit: int) -> str | None:
    """ "tokens" or "comments" if `query` has more than `limit` of them, else None."""
    counts = {"tokens": 0, "comments": 0}
    for match in _TOKENS.finditer(query):
        if match.lastgroup != "skip":
            what = "comments" if match.lastgroup == "comment" else "tokens"
            counts[what] += 1
            if counts[what] > limit:
                return what
    return None


def refuse_size(query: str, limits: Limits) -> GraphQLError | None:
    """A document over MAX_QUERY_BYTES is refused unparsed (the parser is pure Python: a
    2 MiB string literal alone takes it a second): with TOO_MANY_TOKENS when it has too many
    tokens too, QUERY_TOO_LARGE when it is long for other reasons."""
    if len(query) <= limits.chars and len(query.encode()) <= limits.chars:
        return None
    # Too many tokens shows within the first MAX_QUERY_BYTES (scanning on costs time).
    what = _more_tokens_than(query[: limits.chars], limits.tokens)
    if what is not None:
        return _too_many_tokens(limits, what)
    return limit_error(
        ErrorCode.QUERY_TOO_LARGE,
        f"The document is {len(query.encode())} bytes; at most {limits.chars} are allowed "
        "(MAX_QUERY_BYTES). Send long values, like an article body, as variables.",
        limit=limits.chars,
    )


def refuse_variables(variables: Any, limits: Limits) -> GraphQLError | None:
    """Variables are checked against their types value by value, in Python: their number
    is bounded (every number, string, list and object counts one)."""
    count, stack = 0, [variables]
    while stack:
        value = stack.pop()
        count += 1
        if count > limits.variable_values + 1:  # the variables object itself is free
            return limit_error(
                ErrorCode.VARIABLES_TOO_LARGE,
                f"The variables hold more than {limits.variable_values} values; at most "
                f"{limits.variable_values} are allowed (MAX_VARIABLE_VALUES).",
                limit=limits.variable_values,
            )
        if isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return None


def _too_many_tokens(limits: Limits, what: str) -> GraphQLError:
    return limit_error(
        ErrorCode.TOO_MANY_TOKENS,
        f"The document has more than {limits.tokens} {what}; at most {limits.tokens} are "
        "allowed (MAX_QUERY_TOKENS).",
        limit=limits.tokens,
    )


def limit_error(code: ErrorCode, message: str, **extensions: Any) -> GraphQLError:
    return GraphQLError(message, extensions={"code": code.value, **extensions})


def parse_within(query: str, limits: Limits) -> DocumentNode:
    """Parse `query`, giving up after `limits.tokens` tokens (or as many comments): the
    parser's time and memory are linear in them."""
    try:
        return parse(query, max_lexical_tokens=limits.tokens, max_comments=limits.tokens)
    except GraphQLError as error:
        for what in ("tokens", "comments"):
            if error.message == (
                f"Syntax Error: Document contains more than {limits.tokens} {what}. "
                "Parsing aborted."
            ):
                raise _too_many_tokens(limits, what) from None
        if error.message == "Syntax Error: Document is nested too deeply. Parsing aborted.":
            raise limit_error(
                ErrorCode.QUERY_TOO_DEEP,
                "The document nests too deeply to be parsed; at most "
                f"{limits.depth} levels of fields are allowed (MAX_QUERY_DEPTH).",
                limit=limits.depth,
            ) from None
        raise


@dataclass
class _Definition:
    """What the walk learns of one operation or fragment."""

    depth: int = 0  # deepest field, not counting fragments it spreads
    # (fragment, at level); level None: inside introspection, which depth leaves out
    spreads: list[tuple[str, int | None]] = field(default_factory=list)


@dataclass(frozen=True)
class Shape:
    """A document's size as the limits measure it."""

    aliases: int
    directives: int
    depth: int  # of its deepest operation, fragments included
    fragment_order: tuple[str, ...]  # every fragment after the fragments it spreads


def _children(node: Node) -> Iterator[Node]:
    """The nodes directly under `node` that can hold fields or directives."""
    for key in ("variable_definitions", "directives", "selection_set"):
        value = getattr(node, key, None)
        if value is None:
            continue
        if key == "selection_set":
            yield from value.selections
        else:
            yield from value


def measure(document: DocumentNode) -> Shape:
    """Count aliases and directives, and find each operation's depth (a field in the root
    selection set is at depth 1), following fragment spreads. Introspection (`__schema`,
    `__type`) is left out of depth: its nesting has its own rule in validation, and the
    standard introspection query is 15 deep. Iterative, and safe on documents validation
    would refuse (unknown or cyclic fragments count as depth 0)."""
    aliases = directives = 0
    definitions: dict[str, _Definition] = {}
    operations: list[_Definition] = []
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode | FragmentDefinitionNode):
            continue
        info = _Definition()
        if isinstance(definition, FragmentDefinitionNode):
            definitions.setdefault(definition.name.value, info)
        else:
            operations.append(info)
        # (node, number of fields above it, or None inside introspection)
        stack: list[tuple[Node, int | None]] = [(definition, 0)]
        while stack:
            node, level = stack.pop()
            if isinstance(node, DirectiveNode):
                directives += 1
                continue
            if isinstance(node, FragmentSpreadNode):
                info.spreads.append((node.name.value, level))
            elif isinstance(node, FieldNode):
                aliases += node.alias is not None
                if node.name.value in INTROSPECTION_FIELDS:
                    level = None
                if level is not None:
                    level += 1
                    info.depth = max(info.depth, level)
            stack.extend((child, level) for child in _children(node))

    depths, order = _fragment_depths(definitions)
    return Shape(
        aliases=aliases,
        directives=directives,
        depth=max((_depth(op, depths) for op in operations), default=0),
        fragment_order=tuple(order),
    )


def _depth(info: _Definition, fragment_depths: dict[str, int]) -> int:
    spread = (level + fragment_depths.get(f, 0) for f, level in info.spreads if level is not None)
    return max(info.depth, *spread, 0)


def _fragment_depths(definitions: dict[str, _Definition]) -> tuple[dict[str, int], list[str]]:
    """Each fragment's depth, and the fragments in dependency order (post-order DFS with an
    explicit stack: a chain of fragments spreading each other is as long as the tokens
    allow, deeper than Python's recursion limit)."""
    depths: dict[str, int] = {}
    order: list[str] = []
    seen: set[str] = set()
    for root in definitions:
        if root in seen:
            continue
        seen.add(root)
        stack = [(root, iter(definitions[root].spreads))]
        while stack:
            name, pending = stack[-1]
            spread = next(pending, None)
            if spread is None:
                stack.pop()
                depths[name] = _depth(definitions[name], depths)
                order.append(name)
            elif spread[0] in definitions and spread[0] not in seen:
                seen.add(spread[0])
                stack.append((spread[0], iter(definitions[spread[0]].spreads)))
    return depths, order


def check(shape: Shape, limits: Limits) -> GraphQLError | None:
    """The first limit `shape` breaks, as an error naming it and its value."""
    if shape.aliases > limits.aliases:
        return limit_error(
            ErrorCode.TOO_MANY_ALIASES,
            f"The document has {shape.aliases} aliases; at most {limits.aliases} are allowed "
            "(MAX_QUERY_ALIASES).",
            limit=limits.aliases,
            value=shape.aliases,
        )
    if shape.directives > limits.directives:
        return limit_error(
            ErrorCode.TOO_MANY_DIRECTIVES,
            f"The document has {shape.directives} directives; at most {limits.directives} "
            "are allowed (MAX_QUERY_DIRECTIVES).",
            limit=limits.directives,
            value=shape.directives,
        )
    if shape.depth > limits.depth:
        return limit_error(
            ErrorCode.QUERY_TOO_DEEP,
            f"The query nests fields {shape.depth} deep; at most {limits.depth} levels are "
            "allowed (MAX_QUERY_DEPTH).",
            limit=limits.depth,
            value=shape.depth,
        )
    return None


class BoundedOverlapRule(OverlappingFieldsCanBeMergedRule):
    """The spec's field-merging rule, with a budget small enough to keep validation fast."""

    def __init__(self, context: ValidationContext) -> None:
        super().__init__(context)
        self.rule_context.remaining_complexity_budget = OVERLAP_BUDGET


def overlap_refusal(errors: list[GraphQLError]) -> GraphQLError | None:
    """Validation gave up on the overlap budget: that is a document too complex to check."""
    if any(e.message == "Validation aborted." for e in errors):
        return limit_error(
            ErrorCode.QUERY_TOO_COMPLEX,
            "The document selects the same fields too many times to be checked "
            f"(more than {OVERLAP_BUDGET // 2} comparisons of fields that share a name).",
        )
    return None
