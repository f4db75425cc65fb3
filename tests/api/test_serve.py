"""`healthcontent serve`: real uvicorn (uvloop, httptools) answering over a real socket."""

from __future__ import annotations

import pytest

from seed_data import SEED_DIR
from tests.api.conftest import post_json, running_server
from tests.helpers import load

URLS = "{ articles { edges { node { url } } } }"


def test_serve_answers_graphql_over_a_socket(database_url: str) -> None:
    assert load(database_url, SEED_DIR).ok
    with running_server(database_url) as base:
        status, _, body = post_json(f"{base}/graphql", {"query": "{ articles { totalCount } }"})
    assert status == 200
    assert body["data"] == {"articles": {"totalCount": 2}}
    assert body["extensions"]["cost"] == {"requestedQueryCost": 50, "maxQueryCost": 5000}


def test_article_urls_point_where_the_server_listens(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SITE_URL", raising=False)
    assert load(database_url, SEED_DIR).ok
    with running_server(database_url) as base:
        _, _, body = post_json(f"{base}/graphql", {"query": URLS})
    urls = [edge["node"]["url"] for edge in body["data"]["articles"]["edges"]]
    assert urls and all(url.startswith(f"{base}/articles/") for url in urls)

    # An explicit SITE_URL (the public address behind a proxy) still wins.
    with running_server(database_url, SITE_URL="https://health.example") as base:
        _, _, body = post_json(f"{base}/graphql", {"query": URLS})
    urls = [edge["node"]["url"] for edge in body["data"]["articles"]["edges"]]
    assert all(url.startswith("https://health.example/articles/") for url in urls)


def test_database_url_option_wins_over_the_environment(database_url: str) -> None:
    assert load(database_url, SEED_DIR).ok
    nowhere = "postgresql://postgres@127.0.0.1:1/nowhere"
    with running_server(nowhere, "--database-url", database_url) as base:
        _, _, body = post_json(f"{base}/graphql", {"query": "{ articles { totalCount } }"})
    assert body["data"] == {"articles": {"totalCount": 2}}
