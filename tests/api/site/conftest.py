"""What the site tests share: the site (pages, embeds, feeds, sitemap) on a seeded database
of both kinds, a parser for its pages' tags, and edits made through the API."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from starlette.testclient import TestClient

from api.app import create_app
from api.settings import ApiSettings
from tests.api.conftest import Api
from tests.api.site.content import write_site_content
from tests.helpers import load, make_key

SITE = "https://health.example"


class Tags(HTMLParser):
    """Every start tag of a page, with its attributes, and the JSON-LD blocks' text."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self._script: dict[str, str | None] | None = None
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self._script = dict(attrs)
            self.scripts.append((self._script, ""))

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            attrs, text = self.scripts[-1]
            self.scripts[-1] = (attrs, text + data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._script = None

    def find(self, tag: str, **attrs: str) -> list[dict[str, str | None]]:
        return [
            a
            for t, a in self.tags
            if t == tag and all(a.get(k.rstrip("_")) == v for k, v in attrs.items())
        ]


@pytest.fixture
def site(database_url: str, content_dir: Path) -> Iterator[TestClient]:
    assert load(database_url, write_site_content(content_dir, hostile=True)).ok
    settings = ApiSettings(database_url=database_url, site_url=SITE, sitemap_urls_per_file=50000)
    with TestClient(create_app(settings)) as client:
        client.database_url = database_url  # type: ignore[attr-defined]
        yield client


def ok(client: TestClient, path: str, **headers: str) -> Any:
    response = client.get(path, headers=headers)
    assert response.status_code == 200, (path, response.status_code, response.text[:500])
    return response


def edit(site: TestClient, slug: str, patch: dict[str, Any]) -> None:
    """Edit an article through the API, as an editor would (its cached pages drop)."""
    key = make_key(site.database_url, f"editor-{uuid.uuid4().hex[:8]}", ["write"])  # type: ignore[attr-defined]
    editor = Api(site, key)
    version = editor.data(
        "query($slug: String!) { article(slug: $slug) { version } }", {"slug": slug}
    )["article"]["version"]
    body = editor.data(
        "mutation($slug: String!, $v: Int!, $patch: ArticlePatch!) { "
        "updateArticle(slug: $slug, expectedVersion: $v, patch: $patch) "
        "{ errors { message } } }",
        {"slug": slug, "v": version, "patch": patch},
    )
    assert body["updateArticle"]["errors"] == [], body


def oembed(site: TestClient, url: str, **params: str) -> Any:
    query = "&".join(f"{k}={quote(v, safe='')}" for k, v in {"url": url, **params}.items())
    return site.get(f"/oembed?{query}")
