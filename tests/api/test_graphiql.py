"""GraphiQL for people in a browser: every asset served by us, so it works offline."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path

from starlette.testclient import TestClient

from api.app import create_app
from api.graphiql import ASSETS, ASSETS_DIR, VERSIONS
from api.settings import ApiSettings

ROOT = Path(__file__).resolve().parents[2]
HTML = {"accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def _urls(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]+)"', html)


def test_graphiql_is_served_entirely_from_this_server(database_url: str) -> None:
    app = create_app(ApiSettings(database_url=database_url))
    with TestClient(app) as client:
        page = client.get("/graphql", headers=HTML)

        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        urls = _urls(page.text)
        assert len(urls) == len(ASSETS) + 1  # every asset, and our boot script
        assert all(url.startswith("/graphiql/") for url in urls)  # nothing from the network
        assert "<script>" not in page.text  # no inline script: works under a strict CSP
        for url in urls:
            asset = client.get(url)
            assert asset.status_code == 200, url
            assert asset.headers["content-type"].split(";")[0] in ("text/javascript", "text/css")
            assert len(asset.content) > 500, url


def test_the_vendored_assets_are_the_published_files_of_the_pinned_versions() -> None:
    for asset in ASSETS:  # the sha384 of the file npm publishes for the pinned version
        digest = hashlib.sha384((ASSETS_DIR / asset.name).read_bytes()).digest()
        assert asset.integrity == "sha384-" + base64.b64encode(digest).decode(), asset.name
    pinned = json.loads((ROOT / "graphiql" / "package.json").read_text())["dependencies"]
    assert all(pinned[package] == version for package, version in VERSIONS.items())
    for package in VERSIONS:  # their MIT licences travel with them
        assert "MIT License" in (ASSETS_DIR / f"LICENSE.{package}").read_text()


def test_json_clients_and_disabled_graphiql_get_graphql_answers(database_url: str) -> None:
    app = create_app(ApiSettings(database_url=database_url, graphiql=False))
    with TestClient(app) as client:
        assert client.get("/graphql", headers=HTML).status_code == 400
        assert client.get("/graphiql/boot.js").status_code == 404
    app = create_app(ApiSettings(database_url=database_url))
    with TestClient(app) as client:
        no_query = client.get("/graphql", headers={"accept": "application/json"})
        assert no_query.status_code == 400
        assert no_query.json()["errors"][0]["message"] == "no `query` given"
        assert client.get("/graphiql/../../etc/passwd").status_code == 404
