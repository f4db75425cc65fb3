"""GraphiQL for people in a browser: assets served by us (offline), or a pinned, checked CDN."""

from __future__ import annotations

import base64
import hashlib
import re
import shutil
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from api.app import create_app
from api.graphiql import ASSETS
from api.settings import ApiSettings

HTML = {"accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def _urls(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]+)"', html)


@pytest.fixture
def local_assets() -> Path:
    directory = ApiSettings().graphiql_assets_dir
    if not all((directory / a.package_path).is_file() for a in ASSETS):
        if shutil.which("npm"):
            pytest.fail("npm is here but GraphiQL's assets are not installed: run `make test`")
        pytest.skip("no npm on this machine: GraphiQL uses the CDN fallback")
    return directory


def test_graphiql_is_served_entirely_from_this_server(
    database_url: str, local_assets: Path
) -> None:
    app = create_app(ApiSettings(database_url=database_url, graphiql_assets_dir=local_assets))
    with TestClient(app) as client:
        page = client.get("/graphql", headers=HTML)

        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert page.headers["x-graphiql-assets"] == "local"
        urls = _urls(page.text)
        assert len(urls) == len(ASSETS) + 1  # every asset, and our boot script
        assert all(url.startswith("/graphiql/") for url in urls)  # nothing from the network
        assert "<script>" not in page.text  # no inline script: works under a strict CSP
        for url in urls:
            asset = client.get(url)
            assert asset.status_code == 200, url
            assert asset.headers["content-type"].split(";")[0] in ("text/javascript", "text/css")


def test_the_cdn_fallback_is_pinned_and_its_integrity_hashes_match_the_files(
    database_url: str, tmp_path: Path, local_assets: Path
) -> None:
    for asset in ASSETS:  # the hashes we pin are those of the very files npm installed
        digest = hashlib.sha384((local_assets / asset.package_path).read_bytes()).digest()
        assert asset.integrity == "sha384-" + base64.b64encode(digest).decode(), asset.name

    app = create_app(ApiSettings(database_url=database_url, graphiql_assets_dir=tmp_path))
    with TestClient(app) as client:
        page = client.get("/graphql", headers=HTML)

    assert page.headers["x-graphiql-assets"] == "cdn"
    for asset in ASSETS:
        assert f'"{asset.cdn_url()}" integrity="{asset.integrity}"' in page.text
    assert all("@" in url for url in _urls(page.text) if url.startswith("https://"))


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
