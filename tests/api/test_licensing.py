"""Licence, attribution and canonical URL as data: defaults from settings, overrides per
article (front matter and mutations), and the same terms in JSON-LD."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from api.app import create_app
from api.settings import ApiSettings
from tests.api.conftest import Api
from tests.helpers import load, make_key

PAIN = "magnesium-for-chronic-pain"
STONES = "magnesium-for-kidney-stones"
TERMS = """query($slug: String!) { article(slug: $slug) {
  url canonicalUrl license { name url } attribution { text html } jsonLd } }"""
HOSTILE = (
    'First published by <a href="https://example.org/" onclick="steal()">Example</a>'
    "<script>alert(1)</script>"
)
OWN = f"""license:
  name: CC BY-NC-ND 4.0
  url: https://creativecommons.org/licenses/by-nc-nd/4.0/
attribution:
  text: First published by Example Health
  html: '{HOSTILE}'
canonical_url: https://example.org/magnesium-pain
"""


def _terms(client: TestClient, slug: str) -> dict[str, Any]:
    article = Api(client).data(TERMS, {"slug": slug})["article"]
    article["jsonLd"] = json.loads(article["jsonLd"])
    return dict(article)


def test_defaults_and_front_matter_overrides(database_url: str, content_dir: Path) -> None:
    path = content_dir / "articles" / f"{PAIN}.md"
    path.write_text(path.read_text().replace("---\n", "---\n" + OWN, 1))
    assert load(database_url, content_dir).ok
    with TestClient(create_app(ApiSettings(database_url=database_url))) as client:
        own, default = _terms(client, PAIN), _terms(client, STONES)

    assert own["canonicalUrl"] == own["url"] == "https://example.org/magnesium-pain"
    assert own["license"] == {
        "name": "CC BY-NC-ND 4.0",
        "url": "https://creativecommons.org/licenses/by-nc-nd/4.0/",
    }
    assert own["attribution"]["text"] == "First published by Example Health"
    html = own["attribution"]["html"]
    assert '<a href="https://example.org/" rel="noopener">Example</a>' in html
    assert "onclick" not in html and "script" not in html
    assert own["jsonLd"]["license"] == "https://creativecommons.org/licenses/by-nc-nd/4.0/"

    assert default["canonicalUrl"] is None
    assert default["license"] == {"name": "All rights reserved", "url": None}
    url = default["url"]
    assert default["attribution"] == {
        "text": f"Source: Health Content, {url}",
        "html": f'Source: <a href="{url}">Health Content</a>',
    }
    assert default["jsonLd"]["license"] == {"@type": "CreativeWork", "name": "All rights reserved"}
    assert default["jsonLd"]["isAccessibleForFree"] is True


def test_settings_set_the_defaults(database_url: str, content_dir: Path) -> None:
    assert load(database_url, content_dir).ok
    settings = ApiSettings(
        database_url=database_url,
        license_name="CC BY 4.0",
        license_url="https://creativecommons.org/licenses/by/4.0/",
        attribution_text="Courtesy of Health Content",
    )
    with TestClient(create_app(settings)) as client:
        terms = _terms(client, STONES)
    assert terms["license"]["name"] == "CC BY 4.0"
    # Only the text set: the HTML says the same.
    assert terms["attribution"] == {
        "text": "Courtesy of Health Content",
        "html": "Courtesy of Health Content",
    }
    assert terms["jsonLd"]["license"] == "https://creativecommons.org/licenses/by/4.0/"


UPDATE = """mutation($patch: ArticlePatch!) {
  updateArticle(slug: "magnesium-for-kidney-stones", expectedVersion: 1, patch: $patch) {
    article { license { name url } attribution { text html } } errors { message } } }"""


def test_mutations_set_and_remove_them(database_url: str, content_dir: Path) -> None:
    assert load(database_url, content_dir).ok
    key = make_key(database_url, "editor", ["write"])
    patch = {"license": {"name": "CC BY 4.0"}, "attribution": {"text": "By <us> & co"}}
    with TestClient(create_app(ApiSettings(database_url=database_url))) as client:
        editor = Api(client, key)
        answer = editor.ask(UPDATE, {"patch": patch})["data"]["updateArticle"]
        assert answer["errors"] == []
        assert answer["article"]["license"] == {"name": "CC BY 4.0", "url": None}
        assert answer["article"]["attribution"] == {
            "text": "By <us> & co",
            "html": "By &lt;us&gt; &amp; co",  # plain text, escaped
        }
        removed = editor.ask(
            UPDATE.replace("expectedVersion: 1", "expectedVersion: 2"), {"patch": {"license": None}}
        )["data"]["updateArticle"]
        assert removed["article"]["license"]["name"] == "All rights reserved"


def test_attribution_html_is_bounded_once_cleaned_and_links_are_absolute(
    database_url: str, content_dir: Path
) -> None:
    """Cleaning lengthens HTML (rel, entities): the bound holds for what is stored, so the
    article stays editable."""
    assert load(database_url, content_dir).ok
    key = make_key(database_url, "editor", ["write"])
    long = '<a href="https://e.org/">x</a>' * 66  # 1,980 characters, 2,970 once cleaned
    relative = 'By <a href="/ours">us</a> and <a href="//evil.example/">them</a>'
    with TestClient(create_app(ApiSettings(database_url=database_url))) as client:

        def update(version: int, patch: dict[str, Any]) -> dict[str, Any]:
            query = UPDATE.replace("expectedVersion: 1", f"expectedVersion: {version}")
            return dict(Api(client, key).data(query, {"patch": patch})["updateArticle"])

        refused = update(1, {"attribution": {"text": "x", "html": long}})
        assert refused["article"] is None
        assert "once cleaned" in refused["errors"][0]["message"]
        kept = update(1, {"attribution": {"text": "By us", "html": relative}})
        assert kept["article"]["attribution"]["html"] == (
            'By <a rel="noopener">us</a> and <a rel="noopener">them</a>'
        )
        assert update(2, {"title": "Still editable"})["errors"] == []


def test_settings_refuse_unsafe_defaults() -> None:
    with pytest.raises(ValueError, match="LICENSE_URL"):
        ApiSettings(license_url="javascript:alert(1)")
    assert ApiSettings(license_url="").license_url is None
    cleaned = ApiSettings(attribution_html='<a href="https://e.org" onclick="x()">E</a>')
    assert cleaned.attribution_html == '<a href="https://e.org" rel="noopener">E</a>'
