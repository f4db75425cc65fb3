"""Requests that fail part-way must give back every connection: the server stays up."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from starlette.testclient import TestClient

from api.app import create_app
from api.settings import ApiSettings
from tests.api.conftest import Api

# relatedPosts(first: 50) fails (at most 20) and nulls the whole list while its siblings'
# loaders are still running.
FAILING = """{ articles(first: 20) { edges { node { slug relatedPosts(first: 50) { title }
  references { title } topics { name } quotes { text } } } } }"""


def test_a_burst_of_failing_queries_leaks_no_connection(big_api: Api, database_url: str) -> None:
    app = create_app(ApiSettings(database_url=database_url, db_pool_size=3, rate_limit_anonymous=0))
    with TestClient(app) as client:

        def fail() -> int:
            return client.post("/graphql", json={"query": FAILING}).status_code

        with ThreadPoolExecutor(8) as pool:
            assert set(pool.map(lambda _: fail(), range(40))) == {200}

        # With 3 connections, one leaked per failure would have exhausted the pool long ago.
        assert client.get("/readyz").json() == {"status": "ok", "database": "up"}
        ok = client.post("/graphql", json={"query": "{ articles(first: 1) { totalCount } }"})
        assert ok.json()["data"]["articles"]["totalCount"] == 62
