"""An API client over the real ASGI app (lifespan included) on a seeded database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from api.app import create_app
from api.settings import ApiSettings
from bench.synthetic import write_content
from seed_data import SEED_DIR
from tests.helpers import load


class Api:
    """Posts GraphQL and checks for unexpected errors, as saleor's tests do."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    def post(self, query: str, variables: dict[str, Any] | None = None, **headers: str) -> Any:
        return self.client.post(
            "/graphql", json={"query": query, "variables": variables}, headers=headers
        )

    def data(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self.post(query, variables)
        body = response.json()
        assert response.status_code == 200, body
        assert "errors" not in body, body["errors"]
        return body["data"]

    def statements(self, query: str, variables: dict[str, Any] | None = None) -> int:
        """SQL statements the request ran (the app runs with QUERY_STATS on)."""
        body = self.post(query, variables).json()
        assert "errors" not in body, body
        return int(body["extensions"]["queryStats"]["sqlStatements"])


@pytest.fixture
def api(database_url: str) -> Iterator[Api]:
    assert load(database_url, SEED_DIR).ok
    app = create_app(ApiSettings(database_url=database_url, query_stats=True))
    with TestClient(app) as client:
        yield Api(client)


@pytest.fixture
def big_api(database_url: str, tmp_path: Path) -> Iterator[Api]:
    """60 synthetic articles (3 topics each) plus the seed."""
    assert load(database_url, write_content(tmp_path / "content", 60), SEED_DIR).ok
    app = create_app(ApiSettings(database_url=database_url, query_stats=True))
    with TestClient(app) as client:
        yield Api(client)
