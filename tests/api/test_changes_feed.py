"""The `changes` feed: the outbox as a connection, public changes only without preview, in
commit order, so a poller that keeps its cursor catches up exactly; cached answers drop
when a public change lands, and not for a draft's."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from graphql_relay import to_global_id
from starlette.testclient import TestClient

from api.app import create_app
from api.settings import ApiSettings
from seed_data import SEED_DIR
from tests.helpers import load, make_key, query

FEED = """query($after: String, $first: Int) {
  changes(first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node { type timestamp public data { typename id slug version url } } }
  }
}"""
CREATE = """mutation($input: ArticleInput!) { createArticle(input: $input) {
  article { slug } errors { code } } }"""
PUBLISH = """mutation($slug: String!) { publishArticle(slug: $slug) {
  article { version } errors { code } } }"""
UPDATE = """mutation($slug: String!, $v: Int!, $patch: ArticlePatch!) {
  updateArticle(slug: $slug, expectedVersion: $v, patch: $patch) {
  article { version } errors { code } } }"""
DRAFT = {
    "slug": "magnesium-and-sleep",
    "title": "Magnesium and Sleep",
    "body": "Intro.",
    "canonicalUrl": "https://elsewhere.example/sleep",
}


class Client:
    def __init__(self, client: TestClient, key: str) -> None:
        self.client, self.key = client, key

    def ask(self, document: str, key: bool = False, **variables: Any) -> Any:
        headers = {"authorization": f"Bearer {self.key}"} if key else {}
        response = self.client.post(
            "/graphql", json={"query": document, "variables": variables}, headers=headers
        )
        return response.json()

    def data(self, document: str, key: bool = False, **variables: Any) -> Any:
        body = self.ask(document, key, **variables)
        assert "errors" not in body, body
        return body["data"]

    def feed(self, key: bool = False, **variables: Any) -> dict[str, Any]:
        return dict(self.data(FEED, key, **variables)["changes"])


@pytest.fixture
def client(database_url: str) -> Iterator[Client]:
    assert load(database_url, SEED_DIR).ok
    key = make_key(database_url, "newsroom", ["write"])
    settings = ApiSettings(
        database_url=database_url, site_url="https://health.example", query_stats=True
    )
    with TestClient(create_app(settings)) as test_client:
        yield Client(test_client, key)


def _types(page: dict[str, Any]) -> list[tuple[str, str]]:
    return [(e["node"]["type"], e["node"]["data"]["slug"]) for e in page["edges"]]


def test_a_poller_catches_up_exactly_and_never_sees_drafts(
    client: Client, database_url: str
) -> None:
    # The seed's load: every topic, expert and article, created or published, oldest first.
    seed = client.feed(first=100)
    assert (
        seed["totalCount"]
        == len(seed["edges"])
        == len(query(database_url, "SELECT id FROM change"))
    )
    assert not seed["pageInfo"]["hasNextPage"]
    assert {t for t, _ in _types(seed)} == {"topic.created", "expert.created", "article.published"}

    # Paged two at a time, the same changes in the same order.
    paged, after = [], None
    while True:
        page = client.feed(first=2, after=after)
        paged += page["edges"]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert paged == seed["edges"]

    cursor = seed["pageInfo"]["endCursor"]
    assert client.feed(after=cursor)["edges"] == []
    client.data(CREATE, True, input=DRAFT)
    client.data(UPDATE, True, slug=DRAFT["slug"], v=1, patch={"summary": "Still a draft."})
    assert client.feed(after=cursor)["edges"] == []  # drafts stay private
    client.data(PUBLISH, True, slug=DRAFT["slug"])
    client.data(UPDATE, True, slug=DRAFT["slug"], v=3, patch={"summary": "Public."})

    new = client.feed(after=cursor)
    assert _types(new) == [("article.published", DRAFT["slug"]), ("article.updated", DRAFT["slug"])]
    published = new["edges"][0]["node"]
    article_id = query(database_url, "SELECT id FROM article WHERE slug = :s", s=DRAFT["slug"])
    assert published["data"] == {
        "typename": "Article",
        "id": to_global_id("Article", str(article_id[0]["id"])),
        "slug": DRAFT["slug"],
        "version": 3,
        "url": "https://elsewhere.example/sleep",  # its canonical URL
    }
    assert published["public"] is True and published["timestamp"].endswith("+00:00")
    assert client.feed(after=new["pageInfo"]["endCursor"])["edges"] == []

    # A preview key sees every change, the draft's too.
    private = client.feed(True, after=cursor)
    assert [(e["node"]["type"], e["node"]["public"]) for e in private["edges"]] == [
        ("article.created", False),
        ("article.updated", False),
        ("article.published", True),
        ("article.updated", True),
    ]
    for edge in seed["edges"]:
        item = edge["node"]["data"]
        where = {"Article": "articles", "Topic": "topics", "Expert": "experts"}[item["typename"]]
        assert item["url"] == f"https://health.example/{where}/{item['slug']}"


def test_cached_feed_answers_drop_for_public_changes_only(client: Client) -> None:
    def fetch() -> tuple[int, bool]:
        response = client.client.get("/graphql", params={"query": FEED})
        body = response.json()
        return body["data"]["changes"]["totalCount"], body["extensions"]["cache"]["hit"]

    count, _ = fetch()
    assert fetch() == (count, True)
    client.data(CREATE, True, input=DRAFT)
    assert fetch() == (count, True)  # a draft's change leaves the public feed as it was
    client.data(PUBLISH, True, slug=DRAFT["slug"])
    assert fetch() == (count + 1, False)


@pytest.mark.parametrize(
    ("variables", "argument"),
    [({"after": "bm9wZQ=="}, "after"), ({"first": 101}, "first"), ({"first": -1}, "first")],
)
def test_bad_pages_name_their_argument(
    client: Client, variables: dict[str, Any], argument: str
) -> None:
    body = client.ask(FEED, **variables)
    [error] = body["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": argument}


def test_a_cursor_from_another_list_is_refused(client: Client) -> None:
    articles = client.data("{ articles(first: 1) { pageInfo { endCursor } } }")
    body = client.ask(FEED, after=articles["articles"]["pageInfo"]["endCursor"])
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
