"""Persisted queries: Apollo's APQ protocol, shared through Redis, and trusted documents."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from api.app import create_app
from api.settings import ApiSettings
from tests.api.conftest import running_server
from tests.conftest import reachable_redis
from tests.helpers import make_key
from tests.test_examples import EXAMPLES_DIR, install_examples

QUERY = "{ articles(first: 2) { edges { node { slug } } } }"
OTHER = "{ topics(first: 1) { edges { node { slug } } } }"


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def persisted(digest: str, version: int = 1) -> dict[str, Any]:
    return {"persistedQuery": {"version": version, "sha256Hash": digest}}


@pytest.fixture
def client(seeded: str) -> Iterator[TestClient]:
    with TestClient(create_app(ApiSettings(database_url=seeded))) as test_client:
        yield test_client


def code(response: Any) -> str:
    return str(response.json()["errors"][0]["extensions"]["code"])


def test_miss_register_hit_as_apollo_client_does(client: TestClient) -> None:
    digest = sha(QUERY)
    miss = client.post("/graphql", json={"extensions": persisted(digest)})
    assert miss.status_code == 200  # application/json: errors in a 200, as Apollo expects
    assert code(miss) == "PERSISTED_QUERY_NOT_FOUND"
    assert miss.json()["errors"][0]["message"] == "PersistedQueryNotFound"

    registered = client.post("/graphql", json={"query": QUERY, "extensions": persisted(digest)})
    assert registered.status_code == 200
    slugs = registered.json()["data"]["articles"]["edges"]
    assert len(slugs) == 2

    hit = client.post("/graphql", json={"extensions": persisted(digest)})
    assert hit.json()["data"] == registered.json()["data"]


def test_get_by_hash_alone_is_a_short_cacheable_url(client: TestClient) -> None:
    digest = sha(QUERY)
    client.post("/graphql", json={"query": QUERY, "extensions": persisted(digest)})
    answer = client.get("/graphql", params={"extensions": json.dumps(persisted(digest))})
    assert answer.status_code == 200
    assert len(answer.json()["data"]["articles"]["edges"]) == 2
    assert answer.headers["cache-control"].startswith("public, max-age=")
    assert answer.headers["etag"]


def test_a_hash_that_is_not_its_query_is_refused(client: TestClient) -> None:
    wrong = client.post("/graphql", json={"query": QUERY, "extensions": persisted(sha(OTHER))})
    assert code(wrong) == "PERSISTED_QUERY_HASH_MISMATCH"
    # ... and nothing was kept under that hash.
    later = client.post("/graphql", json={"extensions": persisted(sha(OTHER))})
    assert code(later) == "PERSISTED_QUERY_NOT_FOUND"
    strict = client.post(
        "/graphql",
        json={"query": QUERY, "extensions": persisted(sha(OTHER))},
        headers={"accept": "application/graphql-response+json"},
    )
    assert strict.status_code == 400


def test_bad_versions_and_hashes_name_the_field(client: TestClient) -> None:
    version = client.post("/graphql", json={"extensions": persisted(sha(QUERY), version=2)})
    assert version.status_code == 400
    assert code(version) == "PERSISTED_QUERY_NOT_SUPPORTED"
    short = client.post("/graphql", json={"extensions": persisted("abc")})
    assert short.status_code == 400
    assert "sha256Hash" in short.json()["errors"][0]["message"]


def test_an_invalid_document_is_not_kept(client: TestClient) -> None:
    broken = "{ articles { nope } }"
    answer = client.post("/graphql", json={"query": broken, "extensions": persisted(sha(broken))})
    assert answer.json()["errors"][0]["message"].startswith("Cannot query field 'nope'")
    later = client.post("/graphql", json={"extensions": persisted(sha(broken))})
    assert code(later) == "PERSISTED_QUERY_NOT_FOUND"


def test_workers_share_hashes_through_redis(seeded: str) -> None:
    settings = ApiSettings(
        database_url=seeded, redis_url=reachable_redis(), redis_prefix=f"t{uuid.uuid4().hex}"
    )
    digest = sha(QUERY)
    with TestClient(create_app(settings)) as one, TestClient(create_app(settings)) as two:
        one.post("/graphql", json={"query": QUERY, "extensions": persisted(digest)})
        hit = two.post("/graphql", json={"extensions": persisted(digest)})
        assert len(hit.json()["data"]["articles"]["edges"]) == 2


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    """The file graphql-codegen's client preset writes: {hash: document}."""
    path = tmp_path / "persisted-documents.json"
    path.write_text(json.dumps({sha(QUERY): QUERY}))
    return path


def test_trusted_documents_refuse_anything_else_to_anonymous_callers(
    seeded: str, manifest: Path
) -> None:
    key = make_key(seeded, "front-end", ["preview"])
    settings = ApiSettings(database_url=seeded, trusted_documents=manifest)
    with TestClient(create_app(settings)) as client:
        by_id = client.post("/graphql", json={"documentId": sha(QUERY)})
        assert len(by_id.json()["data"]["articles"]["edges"]) == 2
        by_hash = client.post("/graphql", json={"extensions": persisted(sha(QUERY))})
        assert by_hash.json()["data"] == by_id.json()["data"]
        in_full = client.post("/graphql", json={"query": QUERY})
        assert in_full.json()["data"] == by_id.json()["data"]

        unknown = client.post("/graphql", json={"query": OTHER})
        assert code(unknown) == "DOCUMENT_NOT_TRUSTED"
        assert "TRUSTED_DOCUMENTS" in unknown.json()["errors"][0]["message"]
        # APQ cannot smuggle a new document in either.
        smuggled = client.post(
            "/graphql", json={"query": OTHER, "extensions": persisted(sha(OTHER))}
        )
        assert code(smuggled) == "DOCUMENT_NOT_TRUSTED"
        assert code(client.post("/graphql", json={"documentId": sha(OTHER)})) == (
            "PERSISTED_QUERY_NOT_FOUND"
        )

        keyed = client.post(
            "/graphql", json={"query": OTHER}, headers={"authorization": f"Bearer {key}"}
        )
        assert len(keyed.json()["data"]["topics"]["edges"]) == 1


def test_a_stale_manifest_stops_the_service_from_starting(seeded: str, tmp_path: Path) -> None:
    stale = tmp_path / "stale.json"
    stale.write_text(json.dumps({sha(OTHER): QUERY}))
    with pytest.raises(ValueError, match="is not the SHA-256 of its document"):
        create_app(ApiSettings(database_url=seeded, trusted_documents=stale))


def test_apollo_clients_persisted_query_link_end_to_end(seeded: str) -> None:
    """@apollo/client (pinned in examples/package.json) over real HTTP: a GET with the hash,
    the POST with the query after PERSISTED_QUERY_NOT_FOUND, then a GET that hits."""
    install_examples()
    node = shutil.which("node")
    assert node is not None
    with running_server(seeded) as base:
        result = subprocess.run(
            [node, str(Path(__file__).with_name("apollo_persisted.cjs")), f"{base}/graphql"],
            env={**os.environ, "NODE_PATH": str(EXAMPLES_DIR / "node_modules")},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    assert seen["first"] == seen["second"]
    assert len(seen["first"]["articles"]["edges"]) == 2
    assert seen["requests"] == [
        {"method": "GET", "withQuery": False},
        {"method": "POST", "withQuery": True},
        {"method": "GET", "withQuery": False},
    ]


def test_document_ids_with_and_without_their_prefix(seeded: str, manifest: Path) -> None:
    settings = ApiSettings(database_url=seeded, trusted_documents=manifest)
    with TestClient(create_app(settings)) as client:
        for document_id in (sha(QUERY), f"sha256:{sha(QUERY)}"):
            answer = client.post("/graphql", json={"documentId": document_id})
            assert len(answer.json()["data"]["articles"]["edges"]) == 2, document_id
        other = client.post("/graphql", json={"documentId": sha(QUERY), "query": OTHER})
        assert code(other) == "PERSISTED_QUERY_HASH_MISMATCH"


def test_large_documents_run_but_are_not_kept(client: TestClient) -> None:
    large = QUERY + "\n#" + "x" * 20_000  # over MAX_KEPT_BYTES, within MAX_QUERY_BYTES
    answer = client.post("/graphql", json={"query": large, "extensions": persisted(sha(large))})
    assert len(answer.json()["data"]["articles"]["edges"]) == 2
    later = client.post("/graphql", json={"extensions": persisted(sha(large))})
    assert code(later) == "PERSISTED_QUERY_NOT_FOUND"
