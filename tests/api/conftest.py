"""An API client over the real ASGI app (lifespan included) on a seeded database."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from api.app import create_app
from api.settings import ApiSettings
from seed_data import SEED_DIR
from seed_data.synthetic import write_content
from tests.helpers import load


class Api:
    """One caller of the GraphQL endpoint, anonymous or with a key: posts documents and checks
    for unexpected errors, as saleor's tests do."""

    def __init__(self, client: TestClient, key: str | None = None) -> None:
        self.client, self.key = client, key

    def with_key(self, key: str | None) -> Api:
        """Another caller of the same app: with `key`, or anonymous (None)."""
        return Api(self.client, key)

    def post(self, query: str, variables: dict[str, Any] | None = None, **headers: str) -> Any:
        if self.key:
            headers.setdefault("authorization", f"Bearer {self.key}")
        return self.client.post(
            "/graphql", json={"query": query, "variables": variables}, headers=headers
        )

    def ask(self, query: str, variables: dict[str, Any] | None = None, **headers: str) -> Any:
        """The decoded answer, errors and all."""
        return self.post(query, variables, **headers).json()

    def data(
        self, query: str, variables: dict[str, Any] | None = None, **headers: str
    ) -> dict[str, Any]:
        """The answer's data, once it came with status 200 and no errors."""
        response = self.post(query, variables, **headers)
        body = response.json()
        assert response.status_code == 200, body
        assert "errors" not in body, body["errors"]
        return body["data"]

    def statements(self, query: str, variables: dict[str, Any] | None = None) -> int:
        """SQL statements the request ran (the app runs with QUERY_STATS on)."""
        body = self.ask(query, variables)
        assert "errors" not in body, body
        return int(body["extensions"]["queryStats"]["sqlStatements"])


@pytest.fixture
def seeded(database_url: str) -> str:
    """`database_url` with the bundled seed content loaded."""
    assert load(database_url, SEED_DIR).ok
    return database_url


@pytest.fixture
def api(seeded: str) -> Iterator[Api]:
    """The app on the seed, executing every query (no response cache: these tests count
    what execution costs)."""
    app = create_app(ApiSettings(database_url=seeded, query_stats=True, response_cache=False))
    with TestClient(app) as client:
        yield Api(client)


@pytest.fixture
def big_api(database_url: str, tmp_path: Path) -> Iterator[Api]:
    """60 synthetic articles (3 topics each) plus the seed."""
    assert load(database_url, write_content(tmp_path / "content", 60), SEED_DIR).ok
    app = create_app(ApiSettings(database_url=database_url, query_stats=True, response_cache=False))
    with TestClient(app) as client:
        yield Api(client)


@contextmanager
def running_server(
    database_url: str | None,
    *args: str,
    command: Sequence[str] = (sys.executable, "-m", "api.cli"),
    cwd: Path | None = None,
    **env: str,
) -> Iterator[str]:
    """`healthcontent serve` (real uvicorn) on a free port; yields its base URL once ready.

    `command` is how to run `healthcontent` (this checkout's by default). Without `cwd`, it
    runs in an empty folder, so that a developer's .env in the checkout changes nothing."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    elsewhere = tempfile.TemporaryDirectory()
    if database_url is not None:
        env["DATABASE_URL"] = database_url
    server = subprocess.Popen(
        [*command, "serve", "--port", str(port), *args],
        env={**os.environ, **env},
        cwd=cwd or elsewhere.name,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{base}/readyz", timeout=1) as response:
                    assert json.load(response) == {"status": "ok", "database": "up"}
                break
            except OSError:
                assert server.poll() is None, server.communicate()[1]
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.1)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=10)
        assert server.stderr is not None
        server.stderr.close()
        elsewhere.cleanup()


def post_json(
    url: str, payload: dict[str, Any], headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], Any]:
    """POST JSON with the standard library: (status, headers, decoded body)."""
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode(),
        headers={"content-type": "application/json", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.load(error)
