"""Static limits, query cost, body size and introspection: each just under and just over.

None of these involve the database beyond answering the document that passes, so they run
on one seeded SQLite database.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from api.app import create_app
from api.settings import ApiSettings
from schema.migrate import upgrade
from seed_data import SEED_DIR
from tests.helpers import load

GRAPHQL_RESPONSE = "application/graphql-response+json"


@pytest.fixture(scope="module")
def seeded_sqlite(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('limits') / 'content.db'}"
    upgrade(url)
    assert load(url, SEED_DIR).ok
    return url


@pytest.fixture
def client(seeded_sqlite: str) -> Iterator[TestClient]:
    with TestClient(create_app(ApiSettings(database_url=seeded_sqlite))) as client:
        yield client


def _post(client: TestClient, query: str, **extra: Any) -> Any:
    response = client.post("/graphql", json={"query": query, **extra})
    return response.status_code, response.json()


def _refused(client: TestClient, query: str, code: str, **extra: Any) -> dict[str, Any]:
    """The document is refused, under both media types, with `code` and nothing run."""
    status, body = _post(client, query, **extra)
    assert status == 200, body
    assert "data" not in body and "extensions" not in body, body
    [error] = body["errors"]
    assert error["extensions"]["code"] == code, error
    strict = client.post(
        "/graphql", json={"query": query, **extra}, headers={"accept": GRAPHQL_RESPONSE}
    )
    assert strict.status_code == 400
    return dict(error)


def _ok(client: TestClient, query: str, **extra: Any) -> dict[str, Any]:
    status, body = _post(client, query, **extra)
    assert status == 200 and "errors" not in body, body
    assert body["extensions"]["cost"]["maxQueryCost"] == 5000
    return dict(body)


def test_tokens(seeded_sqlite: str) -> None:
    settings = ApiSettings(database_url=seeded_sqlite, max_query_tokens=50)
    with TestClient(create_app(settings)) as client:
        _ok(client, "{" + " __typename" * 48 + " }")  # 50 tokens, braces included
        error = _refused(client, "{" + " __typename" * 49 + " }", "TOO_MANY_TOKENS")
        assert error["message"] == (
            "The document has more than 50 tokens; at most 50 are allowed (MAX_QUERY_TOKENS)."
        )
        # Comments cost the parser too; they have the same bound.
        _refused(client, "# hi\n" * 51 + "{ __typename }", "TOO_MANY_TOKENS")


def test_document_size(client: TestClient) -> None:
    """Long documents are refused unparsed; long text belongs in variables."""
    exact = "{ __typename }" + " " * (65536 - len("{ __typename }"))
    _ok(client, exact)
    error = _refused(client, exact + " ", "QUERY_TOO_LARGE")
    assert "65537 bytes" in error["message"] and "MAX_QUERY_BYTES" in error["message"]
    one_long_string = '{ article(slug: "' + "x" * 1_000_000 + '") { title } }'
    _refused(client, one_long_string, "QUERY_TOO_LARGE")
    # Long because of its many tokens: that is what it is refused for.
    _refused(client, "{" + " __typename" * 100_000 + " }", "TOO_MANY_TOKENS")


def test_variables_hold_at_most_10000_values(client: TestClient) -> None:
    query = "query($s: [ArticleStatus!]) { articles(status: $s) { totalCount } }"
    _ok(client, query, variables={"s": ["PUBLISHED"] * 9999})  # the list, and 9,999 in it
    error = _refused(client, query, "VARIABLES_TOO_LARGE", variables={"s": ["PUBLISHED"] * 10_000})
    assert "MAX_VARIABLE_VALUES" in error["message"]


def test_a_document_nested_past_the_parser_is_too_deep(client: TestClient) -> None:
    nested = "{ a" * 300 + " }" * 300
    error = _refused(client, nested, "QUERY_TOO_DEEP")
    assert "MAX_QUERY_DEPTH" in error["message"]


def test_aliases(client: TestClient) -> None:
    _ok(client, "{" + "".join(f" a{i}: __typename" for i in range(30)) + " }")
    error = _refused(
        client, "{" + "".join(f" a{i}: __typename" for i in range(31)) + " }", "TOO_MANY_ALIASES"
    )
    assert "31 aliases" in error["message"] and "MAX_QUERY_ALIASES" in error["message"]
    assert error["extensions"]["limit"] == 30


def test_directives(client: TestClient) -> None:
    _ok(client, "{" + " __typename @include(if: true)" * 50 + " }")
    error = _refused(
        client, "{" + " __typename @include(if: true)" * 51 + " }", "TOO_MANY_DIRECTIVES"
    )
    assert "51 directives" in error["message"] and "MAX_QUERY_DIRECTIVES" in error["message"]


def _parents(levels: int) -> str:
    """`topic` + `levels` nested `parent`s + `name`: levels + 2 deep."""
    nested = " parent {" * levels + " name" + " }" * levels
    return '{ topic(slug: "chronic-pain") {' + nested + " } }"


def test_depth_follows_fragments(client: TestClient) -> None:
    _ok(client, _parents(13))  # 15 deep
    error = _refused(client, _parents(14), "QUERY_TOO_DEEP")
    assert "16 deep" in error["message"] and "MAX_QUERY_DEPTH" in error["message"]
    # The same depth, split across fragments.
    fragments = (
        "fragment Up on Topic { parent { parent { parent { ...Up2 } } } } "
        "fragment Up2 on Topic {" + " parent {" * 10 + " name" + " }" * 10 + " } "
    )
    _refused(client, fragments + '{ topic(slug: "x") { parent { ...Up } } }', "QUERY_TOO_DEEP")
    _ok(client, fragments + '{ topic(slug: "x") { ...Up } }')


def test_introspection_is_left_out_of_depth(client: TestClient) -> None:
    standard = (Path(__file__).parent / "introspection_query.graphql").read_text()
    body = _ok(client, standard)
    assert body["data"]["__schema"]["queryType"] == {"name": "Query"}


# Cost = 50 + n x (1 + 50 + 5 x 1): 4,978 for n = 88, 5,034 for n = 89.
NESTED = """query($n: Int) { topics(first: $n) { edges { node {
  articles(first: 5) { edges { node { title } } } } } } }"""


def test_cost_counts_variables_and_is_reported(client: TestClient) -> None:
    body = _ok(client, NESTED, variables={"n": 88})
    assert body["extensions"]["cost"] == {"requestedQueryCost": 4978, "maxQueryCost": 5000}
    error = _refused(client, NESTED, "QUERY_TOO_COMPLEX", variables={"n": 89})
    assert error["extensions"]["cost"] == {"requestedQueryCost": 5034, "maxQueryCost": 5000}
    assert "costs 5034" in error["message"] and "MAX_QUERY_COST" in error["message"]


def test_fields_repeated_past_the_overlap_budget_are_refused(client: TestClient) -> None:
    _ok(client, "{" + " __typename" * 100 + " }")
    _refused(client, "{" + " __typename" * 200 + " }", "QUERY_TOO_COMPLEX")


def test_bodies_over_the_limit_get_413_without_being_read(seeded_sqlite: str) -> None:
    settings = ApiSettings(database_url=seeded_sqlite, max_body_bytes=300)
    payload = json.dumps({"query": "{ articles { totalCount } }"})
    exact = payload + " " * (300 - len(payload))
    with TestClient(create_app(settings)) as client:
        headers = {"content-type": "application/json"}
        assert client.post("/graphql", content=exact, headers=headers).status_code == 200
        over = client.post("/graphql", content=exact + " ", headers=headers)
        assert over.status_code == 413
        assert over.json() == {
            "errors": [
                {
                    "message": "the request body is over 300 bytes (MAX_BODY_BYTES)",
                    "extensions": {"code": "REQUEST_TOO_LARGE"},
                }
            ]
        }
        # Without a Content-Length, reading stops at the first chunk past the limit.
        chunks = (b" " * 100 for _ in range(1000))
        assert client.post("/graphql", content=chunks, headers=headers).status_code == 413
        long_get = client.get("/graphql", params={"query": "{ __typename }" + " " * 300})
        assert long_get.status_code == 414


def test_without_introspection_typename_works_and_nothing_suggests(seeded_sqlite: str) -> None:
    settings = ApiSettings(database_url=seeded_sqlite, introspection=False)
    with TestClient(create_app(settings)) as client:
        status, body = _post(client, "{ __schema { queryType { name } } }")
        assert status == 200 and "data" not in body
        assert "introspection has been disabled" in body["errors"][0]["message"]
        _, body = _post(client, '{ __type(name: "Article") { name } }')
        assert "introspection has been disabled" in body["errors"][0]["message"]
        assert _ok(client, "{ __typename }")["data"] == {"__typename": "Query"}
        for query, variables in [
            ("{ articl { totalCount } }", None),  # a field
            ("{ articles(frist: 1) { totalCount } }", None),  # an argument
            ("{ articles(status: [PUBLISHD]) { totalCount } }", None),  # an enum literal
            (
                "query($s: [ArticleStatus!]) { articles(status: $s) { totalCount } }",
                {"s": ["PUBLISHD"]},  # an enum in a variable
            ),
            ("query($s: ArticleStaus) { __typename }", None),  # a type
        ]:
            _, body = _post(client, query, variables=variables)
            assert body["errors"], query
            assert not any("Did you mean" in e["message"] for e in body["errors"]), body
    # With introspection on (the default), the hints are there.
    with TestClient(create_app(ApiSettings(database_url=seeded_sqlite))) as client:
        _, body = _post(client, "{ articl { totalCount } }")
        assert "Did you mean" in body["errors"][0]["message"]


def test_an_experts_quotes_are_paged(client: TestClient) -> None:
    query = 'query($n: Int!) { expert(slug: "linda-rapson") { quotes(first: $n) { text } } }'
    assert len(_ok(client, query, variables={"n": 1})["data"]["expert"]["quotes"]) == 1
    assert len(_ok(client, query, variables={"n": 100})["data"]["expert"]["quotes"]) == 2
    _, body = _post(client, query, variables={"n": 101})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
