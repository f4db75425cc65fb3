"""Query cost, computed by hand from the rules in the README and compared with the code's."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import (
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    OperationDefinitionNode,
    get_named_type,
    parse,
)

from api.cost import CONNECTION_COST, LIST_SIZES, CostModel, Uncountable
from api.documents import DocumentCache
from api.graphql.schema import schema
from api.limits import Limits, measure

MODEL = CostModel(schema.graphql_schema)
C = CONNECTION_COST  # 50

CASES: list[tuple[str, str, dict[str, Any] | None, int]] = [
    # (what, document, variables, cost worked out by hand; C is a connection's own cost)
    ("a connection with no page", "{ articles { totalCount } }", None, C),
    (
        "a page of 5: the connection, then 5 nodes",
        "{ articles(first: 5) { edges { node { title } } pageInfo { hasNextPage } } }",
        None,
        C + 5 * 1,
    ),
    (
        "the default page is 20",
        "{ articles { edges { cursor node { slug } } } }",
        None,
        C + 20 * 1,
    ),
    (
        "last counts like first; topics are 5 each",
        "{ articles(last: 3) { edges { node { topics { name } } } } }",
        None,
        C + 3 * (1 + 5 * 1),
    ),
    (
        "a page size from a variable",
        "query($n: Int) { articles(first: $n) { edges { node { title } } } }",
        {"n": 7},
        C + 7,
    ),
    (
        "a variable left out: its default",
        "query($n: Int = 2) { articles(first: $n) { edges { node { title } } } }",
        None,
        C + 2,
    ),
    (
        "a variable left out, without a default: the page default",
        "query($n: Int) { articles(first: $n) { edges { node { title } } } }",
        {},
        C + 20,
    ),
    (
        "a fragment counts where it is spread",
        "fragment Card on Article { title topics { name } } "
        "{ articles(first: 2) { edges { node { ...Card } } } }",
        None,
        C + 2 * (1 + 5),
    ),
    (
        "fragments spreading fragments",
        "fragment T on Topic { name } fragment A on Article { topics { ...T } } "
        "query { articles(first: 4) { edges { node { ...A review { reviewer { name } } } } } }",
        None,
        C + 4 * (1 + 5 + 1 + 1),
    ),
    (
        "nested connections multiply",
        "{ topics(first: 2) { edges { node { "
        "articles(first: 3) { edges { node { title } } } } } } }",
        None,
        C + 2 * (1 + (C + 3 * 1)),
    ),
    (
        "relatedPosts: 3 by default, each with its article",
        '{ article(slug: "x") { relatedPosts { title article { slug } } } }',
        None,
        1 + 3 * (1 + 1),
    ),
    (
        "relatedPosts(first:) from a variable",
        'query($n: Int!) { article(slug: "x") { relatedPosts(first: $n) { title } } }',
        {"n": 12},
        1 + 12,
    ),
    (
        "a body weighs 10, JSON-LD 5",
        '{ article(slug: "x") { body jsonLd title } }',
        None,
        1 + 10 + 5,
    ),
    (
        "sections with their quotes and each quote's expert",
        '{ article(slug: "x") { sections { html quotes { text expert { name } } } } }',
        None,
        1 + 10 * (1 + 2 * (1 + 1)),
    ),
    (
        "an alias is another field",
        '{ a: article(slug: "x") { title } b: article(slug: "y") { title } }',
        None,
        2,
    ),
    (
        "@skip(if: true) counts nothing",
        'query($s: Boolean!) { article(slug: "x") { title topics @skip(if: $s) { name } } }',
        {"s": True},
        1,
    ),
    (
        "@include(if: true) counts",
        'query($s: Boolean!) { article(slug: "x") { topics @include(if: $s) { name } } }',
        {"s": True},
        1 + 5,
    ),
    (
        "on an interface, the costliest type counts",
        '{ node(id: "x") { id ... on Article { topics { name } } '
        "... on Topic { articles(first: 10) { edges { node { title } } } } } }",
        None,
        1 + (C + 10 * 1),
    ),
    (
        "a page over the maximum counts as the maximum (the request is refused anyway)",
        "{ articles(first: 1000) { edges { node { title } } } }",
        None,
        C + 100,
    ),
    (
        "an expert's quotes: 20 by default",
        '{ expert(slug: "x") { quotes { text article { slug } } } }',
        None,
        1 + 20 * (1 + 1),
    ),
    (
        "a mutation costs 10, then its payload",
        'mutation { publishArticle(slug: "x") { article { title } errors { code } } }',
        None,
        10 + 1 + 1 + 5 * 1,
    ),
    (
        "a fragment on a connection counts with the page it is spread in",
        "fragment Page on ArticleConnection { edges { node { title } } } "
        "{ articles(first: 100) { ...Page } }",
        None,
        C + 100 * 1,
    ),
    (
        "fragments on connections, nested",
        "fragment T on TopicConnection { edges { node { articles(first: 100) { ...A } } } } "
        "fragment A on ArticleConnection { edges { node { summary } } } "
        "{ topics(first: 100) { ...T } }",
        None,
        C + 100 * (1 + C + 100 * 1),
    ),
    (
        "a page size sent as 100.0 is 100 (GraphQL's Int takes it)",
        "query($n: Int) { articles(first: $n) { edges { node { title } } } }",
        {"n": 100.0},
        C + 100,
    ),
    (
        "a search costs 200 more",
        '{ articles(search: "magnesium", first: 10) { edges { node { title } } } }',
        None,
        C + 200 + 10,
    ),
    (
        "a search in a variable left null costs nothing more",
        "query($q: String) { articles(search: $q, first: 10) { edges { node { title } } } }",
        {"q": None},
        C + 10,
    ),
    ("__typename is free", "{ __typename }", None, 0),
    (
        "introspection: __schema, then one object a type",
        "{ __schema { types { name } } }",
        None,
        1 + len(schema.graphql_schema.type_map),
    ),
    (
        "the attack that returned 158 MB: per article, 5 topics, each with a connection of "
        "100 articles with a body",
        "{ articles(first: 100) { edges { node { topics { articles(first: 100) { edges "
        "{ node { body } } } } } } } }",
        None,
        C + 100 * (1 + 5 * (1 + C + 100 * (1 + 10))),
    ),
]


def _cost(document: str, variables: dict[str, Any] | None) -> int:
    tree = parse(document)
    operation = next(d for d in tree.definitions if isinstance(d, OperationDefinitionNode))
    return MODEL.cost(tree, operation, measure(tree).fragment_order, variables)


@pytest.mark.parametrize(("what", "document", "variables", "expected"), CASES)
def test_cost_is_what_the_rules_say(
    what: str, document: str, variables: dict[str, Any] | None, expected: int
) -> None:
    assert _cost(document, variables) == expected, what


def test_every_list_of_objects_has_a_size() -> None:
    """A list the cost model cannot size would be counted as one item: none may exist."""
    unsized = []
    for type_name, graphql_type in schema.graphql_schema.type_map.items():
        if type_name.startswith("__") or not isinstance(graphql_type, GraphQLObjectType):
            continue
        for field_name, field in graphql_type.fields.items():
            wrapped = field.type.of_type if isinstance(field.type, GraphQLNonNull) else field.type
            item = get_named_type(field.type)
            if not isinstance(wrapped, GraphQLList) or not isinstance(item, GraphQLObjectType):
                continue
            sized = (
                f"{type_name}.{field_name}" in LIST_SIZES
                or "first" in field.args
                or field_name == "edges"
            )
            if not sized:
                unsized.append(f"{type_name}.{field_name}")
    assert unsized == []


def test_a_prepared_document_is_kept_and_its_cost_remembered() -> None:
    limits = Limits(
        chars=65536, tokens=1000, depth=15, aliases=30, directives=50, variable_values=10_000
    )
    cache = DocumentCache(schema.graphql_schema, size=4, limits=limits, introspection=True)
    query = "query($n: Int) { articles(first: $n) { edges { node { title } } } }"
    first = cache.prepare(query)
    assert cache.prepare(query) is first
    operation = first.operation(None)
    assert operation is not None
    assert first.cost(MODEL, operation, {"n": 3}) == C + 3
    assert first.cost(MODEL, operation, {"n": 9}) == C + 9
    assert first.cost(MODEL, operation, {"n": [1]}) == C + 20  # not a number: the default
    assert first.cost(MODEL, operation, {"n": 9.0}) == C + 9
    # Sent as null and left out differ when the variable has a default.
    defaulted = cache.prepare(
        "query($n: Int = 100) { articles(first: $n) { edges { node { title } } } }"
    )
    operation = defaulted.operation(None)
    assert operation is not None
    assert defaulted.cost(MODEL, operation, {"n": None}) == C + 20
    assert defaulted.cost(MODEL, operation, {}) == C + 100
    searching = cache.prepare(
        "query($q: String) { articles(search: $q, first: 5) { edges { node { title } } } }"
    )
    operation = searching.operation(None)
    assert operation is not None
    assert searching.cost(MODEL, operation, {"q": None}) == C + 5
    assert searching.cost(MODEL, operation, {"q": "sleep"}) == C + 200 + 5
    # A huge value where a number belongs is not kept with the cost.
    first_operation = first.operation(None)
    assert first_operation is not None
    first.cost(MODEL, first_operation, {"n": "x" * 100_000})
    assert all(len(repr(key)) < 100 for key in first._costs)
    for other in ("{ a: __typename }", "{ b: __typename }"):
        cache.prepare(other)
    assert cache.prepare(query) is not first  # the least recently used went first


def test_fragments_spread_deeper_than_python_recursion_are_uncountable() -> None:
    chain = " ".join(f"fragment F{i} on ArticleConnection {{ ...F{i + 1} }}" for i in range(5000))
    tree = parse(chain + " fragment F5000 on ArticleConnection { totalCount } "
                 "{ articles(first: 50) { ...F0 } }")  # fmt: skip
    operation = next(d for d in tree.definitions if isinstance(d, OperationDefinitionNode))
    with pytest.raises(Uncountable):
        MODEL.cost(tree, operation, (), None)
