"""`healthcontent serve`: real uvicorn (uvloop, httptools) answering over a real socket."""

from __future__ import annotations

from seed_data import SEED_DIR
from tests.api.conftest import post_json, running_server
from tests.helpers import load


def test_serve_answers_graphql_over_a_socket(database_url: str) -> None:
    assert load(database_url, SEED_DIR).ok
    with running_server(database_url) as base:
        status, _, body = post_json(f"{base}/graphql", {"query": "{ articles { totalCount } }"})
    assert status == 200
    assert body["data"] == {"articles": {"totalCount": 2}}
    assert body["extensions"]["cost"] == {"requestedQueryCost": 50, "maxQueryCost": 5000}
