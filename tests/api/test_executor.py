"""The fast executor (api/executor.py) answers exactly as graphql-core does.

Every query of the suite already runs through both (EXECUTOR_CHECK=1, tests/conftest.py).
Here generated documents do too: hypothesis-graphql writes queries over the whole schema,
arguments included, and each goes through the real app on a seeded database. Errors are
compared as well (the fast path hands every error back to graphql-core, so that is where a
wrong hand-back would show).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC
from pathlib import Path

import pytest
from graphql import StringValueNode
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import nodes, queries
from starlette.testclient import TestClient

from api.app import create_app
from api.executor import MISMATCHES
from api.graphql.schema import schema
from api.settings import ApiSettings
from seed_data import SEED_DIR
from seed_data.synthetic import write_content
from tests.helpers import load

SCALARS = {
    "DateTime": st.datetimes(timezones=st.just(UTC)).map(
        lambda moment: nodes.String(moment.isoformat())
    ),
    "Date": st.dates().map(lambda day: nodes.String(day.isoformat())),
    "JSONString": st.just(StringValueNode(value="{}")),
}


@pytest.fixture
def client(database_url: str, tmp_path: Path) -> Iterator[TestClient]:
    """The app on the seed plus 30 synthetic articles; read-only, so one app serves every
    example hypothesis draws."""
    content = write_content(tmp_path / "content", 30)
    assert load(database_url, content, SEED_DIR).ok
    app = create_app(
        ApiSettings(
            database_url=database_url,
            executor_check=True,
            rate_limit_anonymous=0,
            max_query_cost=10**6,
            rate_limit_cost_key=0,
            rate_limit_cost_anonymous=0,
        )
    )
    with TestClient(app) as test_client:
        yield test_client


@settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(query=queries(schema.graphql_schema, custom_scalars=SCALARS))
def test_generated_queries_answer_alike(client: TestClient, query: str) -> None:
    before = len(MISMATCHES)
    response = client.post("/graphql", json={"query": query})
    assert response.status_code in (200, 400), response.text
    assert MISMATCHES[before:] == []


def test_the_fast_path_is_taken(client: TestClient) -> None:
    """Not every answer is a hand-back: the list and the page run on the fast path."""
    executor = client.app.state.executor  # type: ignore[attr-defined]
    runs = executor.fast_runs
    query = "{ articles(first: 5) { edges { node { title topics { name } } } } }"
    assert "errors" not in client.post("/graphql", json={"query": query}).json()
    assert executor.fast_runs == runs + 1
    fallbacks = executor.fallbacks
    failing = "{ articles(status: [DRAFT]) { totalCount } }"  # anonymous: FORBIDDEN
    assert client.post("/graphql", json={"query": failing}).json()["errors"]
    assert executor.fallbacks == fallbacks + 1


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        # A null sent for a variable whose default made the document valid: graphql-core
        # answers (a field error, a request error, or nothing at all where the branch is
        # never reached), and so does the service, never with a 500.
        ('query($s: String = "x") { topic(slug: $s) { name } }', {"s": None}),
        ("query($v: Boolean = true) { topics @skip(if: $v) { totalCount } }", {"v": None}),
        (
            'query($v: Boolean = true) { article(slug: "nope") { title @skip(if: $v) } }',
            {"v": None},
        ),
    ],
)
def test_what_planning_cannot_take_is_answered_by_graphql_core(
    client: TestClient, query: str, variables: dict[str, object]
) -> None:
    answer = client.post("/graphql", json={"query": query, "variables": variables})
    assert answer.status_code == 200, answer.text
    assert "INTERNAL_SERVER_ERROR" not in answer.text
