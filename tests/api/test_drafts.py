"""Drafts and archived articles: invisible to anonymous callers on every path; a preview key
sees them where it asks."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from graphql_relay import to_global_id
from starlette.testclient import TestClient

from api.app import create_app
from api.settings import ApiSettings
from tests.api.conftest import Api
from tests.helpers import make_key, query

DRAFT = "magnesium-and-sleep"
ARCHIVED = "magnesium-myths"
PUBLIC = "magnesium-for-chronic-pain"
WORD = "zanzibarium"  # only in the hidden articles: a search for it must find nothing


@dataclass
class Callers:
    """The same app, called anonymously, with a preview key, and with a key that may write
    (and preview)."""

    anonymous: Api
    preview: Api
    write: Api


CREATE = """
mutation($input: ArticleInput!) {
  createArticle(input: $input) { article { id slug status version } errors { field code message } }
}"""


def _hidden_article(slug: str, status: str) -> dict[str, Any]:
    return {
        "slug": slug,
        "title": f"Hidden {slug}",
        "summary": f"Not public yet: {WORD}.",
        "body": f"Magnesium helps many sleepers, says our {WORD} expert.\n\n## More\n\nText.",
        "status": status,
        "topics": ["magnesium", "pain", "chronic-pain"],
        "quotes": [{"expert": "linda-rapson", "text": "Magnesium helps many sleepers"}],
        "review": {"reviewer": "linda-rapson", "reviewedAt": "2026-01-02"},
    }


@pytest.fixture
def callers(seeded: str) -> Iterator[Callers]:
    preview = make_key(seeded, "front-end-preview", ["preview"])
    write = make_key(seeded, "editor", ["write", "preview"])
    app = create_app(ApiSettings(database_url=seeded))
    with TestClient(app) as client:
        c = Callers(Api(client), Api(client, preview), Api(client, write))
        for slug, status in ((DRAFT, "DRAFT"), (ARCHIVED, "ARCHIVED")):
            result = c.write.data(CREATE, {"input": _hidden_article(slug, status)})
            assert result["createArticle"]["errors"] == []
        # A published article links to the draft: the link must not show.
        linked = c.write.data(
            """mutation { updateArticle(slug: "magnesium-for-kidney-stones", expectedVersion: 1,
                 patch: {related: [{article: "magnesium-and-sleep"}]}) { errors { message } } }"""
        )
        assert linked["updateArticle"]["errors"] == []
        yield c


def _ids(database_url: str) -> tuple[str, str]:
    article = query(database_url, "SELECT id FROM article WHERE slug = :s", s=DRAFT)[0]["id"]
    quote = query(database_url, "SELECT id FROM quote WHERE article_id = :a", a=article)[0]["id"]
    return to_global_id("Article", str(article)), to_global_id("Quote", str(quote))


EVERY_PATH = """
query($article: ID!, $quote: ID!) {
  bySlug: article(slug: "magnesium-and-sleep") { slug }
  archived: article(slug: "magnesium-myths") { slug }
  articles(first: 100) { totalCount edges { node { slug } } }
  search: articles(search: "zanzibarium") { totalCount edges { node { slug } } }
  newest: articles(orderBy: TITLE, first: 100) { totalCount edges { node { slug } } }
  related: article(slug: "magnesium-for-chronic-pain") {
    relatedPosts(first: 20) { url article { slug } }
  }
  linking: article(slug: "magnesium-for-kidney-stones") {
    relatedPosts(first: 20) { url article { slug } }
  }
  topic(slug: "magnesium") { articles(first: 100) { totalCount edges { node { slug } } } }
  expert(slug: "linda-rapson") {
    quotes { text }
    articles(first: 100) { totalCount edges { node { slug } } }
  }
  articleNode: node(id: $article) { id }
  quoteNode: node(id: $quote) { id }
}"""


def test_anonymous_callers_never_see_drafts_or_archived_articles(
    callers: Callers, database_url: str
) -> None:
    article_id, quote_id = _ids(database_url)
    for caller in (callers.anonymous, callers.write):  # a key sees drafts only where it asks
        data = caller.data(EVERY_PATH, {"article": article_id, "quote": quote_id})
        text = str(data)
        assert DRAFT not in text and ARCHIVED not in text, (caller.key, data)
        assert data["bySlug"] is None and data["archived"] is None
        assert data["articles"]["totalCount"] == 2
        assert data["search"] == {"totalCount": 0, "edges": []}
        assert data["topic"]["articles"]["totalCount"] == 2
        assert data["expert"]["articles"]["totalCount"] == 1
        assert len(data["expert"]["quotes"]) == 2
        assert data["linking"]["relatedPosts"] != []  # topic-sharing fallback still public
        if caller.key is None:
            assert data["articleNode"] is None and data["quoteNode"] is None


def test_anonymous_callers_cannot_ask_for_drafts(callers: Callers) -> None:
    for document in (
        '{ article(slug: "magnesium-and-sleep", preview: true) { slug } }',
        "{ articles(status: [DRAFT]) { totalCount } }",
        '{ topic(slug: "magnesium") { articles(status: [DRAFT, PUBLISHED]) { totalCount } } }',
        '{ article(slug: "magnesium-for-chronic-pain") { revisions { version } } }',
    ):
        body = callers.anonymous.ask(document)
        assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"], body
        assert "preview" in body["errors"][0]["message"]
        assert DRAFT not in str(body)


def test_a_preview_key_sees_drafts_where_it_asks(callers: Callers, database_url: str) -> None:
    data = callers.preview.data(
        """{
          article(slug: "magnesium-and-sleep", preview: true) {
            slug status publishedAt quotes { text article { slug } } review { reviewer { slug } }
          }
          drafts: articles(status: [DRAFT]) { totalCount edges { node { slug status } } }
          all: articles(status: [DRAFT, PUBLISHED, ARCHIVED], orderBy: NEWEST) { totalCount }
          search: articles(search: "zanzibarium", status: [DRAFT, ARCHIVED]) { totalCount }
          topic(slug: "magnesium") { articles(status: [ARCHIVED]) { edges { node { slug } } } }
        }"""
    )
    article = data["article"]
    assert article["status"] == "DRAFT" and article["publishedAt"] is None
    assert article["quotes"] == [
        {"text": "Magnesium helps many sleepers", "article": {"slug": DRAFT}}
    ]
    assert article["review"] == {"reviewer": {"slug": "linda-rapson"}}
    assert data["drafts"] == {
        "totalCount": 1,
        "edges": [{"node": {"slug": DRAFT, "status": "DRAFT"}}],
    }
    assert data["all"]["totalCount"] == 4
    assert data["search"]["totalCount"] == 2
    assert data["topic"]["articles"]["edges"] == [{"node": {"slug": ARCHIVED}}]
    article_id, quote_id = _ids(database_url)
    nodes = callers.preview.data(
        "query($a: ID!, $q: ID!) { a: node(id: $a) { id } q: node(id: $q) { id } }",
        {"a": article_id, "q": quote_id},
    )
    assert nodes == {"a": {"id": article_id}, "q": {"id": quote_id}}


def test_drafts_page_through_in_order_without_a_date(callers: Callers) -> None:
    seen, after = [], None
    while True:
        page = callers.preview.data(
            """query($after: String) {
              articles(status: [DRAFT, ARCHIVED, PUBLISHED], first: 1, after: $after) {
                edges { node { slug } } pageInfo { hasNextPage endCursor }
              }
            }""",
            {"after": after},
        )["articles"]
        seen += [edge["node"]["slug"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert sorted(seen) == sorted([DRAFT, ARCHIVED, PUBLIC, "magnesium-for-kidney-stones"])
    assert len(seen) == 4
