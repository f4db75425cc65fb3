"""The `changes` feed: the outbox as a connection, public changes only without preview, in
commit order, so a poller that keeps its cursor catches up exactly; cached answers drop
when a public change lands, and not for a draft's."""

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


@dataclass
class Callers:
    """The same app, called anonymously and with the newsroom's key (it may write, so it
    sees drafts' changes too)."""

    anonymous: Api
    newsroom: Api


@pytest.fixture
def callers(seeded: str) -> Iterator[Callers]:
    key = make_key(seeded, "newsroom", ["write"])
    settings = ApiSettings(database_url=seeded, site_url="https://health.example", query_stats=True)
    with TestClient(create_app(settings)) as test_client:
        yield Callers(Api(test_client), Api(test_client, key))


def _feed(caller: Api, **variables: Any) -> dict[str, Any]:
    return dict(caller.data(FEED, variables)["changes"])


def _types(page: dict[str, Any]) -> list[tuple[str, str]]:
    return [(e["node"]["type"], e["node"]["data"]["slug"]) for e in page["edges"]]


def test_a_poller_catches_up_exactly_and_never_sees_drafts(
    callers: Callers, database_url: str
) -> None:
    # The seed's load: every topic, expert and article, created or published, oldest first.
    seed = _feed(callers.anonymous, first=100)
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
        page = _feed(callers.anonymous, first=2, after=after)
        paged += page["edges"]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert paged == seed["edges"]

    cursor = seed["pageInfo"]["endCursor"]
    assert _feed(callers.anonymous, after=cursor)["edges"] == []
    callers.newsroom.data(CREATE, {"input": DRAFT})
    callers.newsroom.data(
        UPDATE, {"slug": DRAFT["slug"], "v": 1, "patch": {"summary": "Still a draft."}}
    )
    assert _feed(callers.anonymous, after=cursor)["edges"] == []  # drafts stay private
    callers.newsroom.data(PUBLISH, {"slug": DRAFT["slug"]})
    callers.newsroom.data(UPDATE, {"slug": DRAFT["slug"], "v": 3, "patch": {"summary": "Public."}})

    new = _feed(callers.anonymous, after=cursor)
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
    assert _feed(callers.anonymous, after=new["pageInfo"]["endCursor"])["edges"] == []

    # A preview key sees every change, the draft's too.
    private = _feed(callers.newsroom, after=cursor)
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


def test_cached_feed_answers_drop_for_public_changes_only(callers: Callers) -> None:
    def fetch() -> tuple[int, bool]:
        response = callers.anonymous.client.get("/graphql", params={"query": FEED})
        body = response.json()
        return body["data"]["changes"]["totalCount"], body["extensions"]["cache"]["hit"]

    count, _ = fetch()
    assert fetch() == (count, True)
    callers.newsroom.data(CREATE, {"input": DRAFT})
    assert fetch() == (count, True)  # a draft's change leaves the public feed as it was
    callers.newsroom.data(PUBLISH, {"slug": DRAFT["slug"]})
    assert fetch() == (count + 1, False)


@pytest.mark.parametrize(
    ("variables", "argument"),
    [({"after": "bm9wZQ=="}, "after"), ({"first": 101}, "first"), ({"first": -1}, "first")],
)
def test_bad_pages_name_their_argument(
    callers: Callers, variables: dict[str, Any], argument: str
) -> None:
    body = callers.anonymous.ask(FEED, variables)
    [error] = body["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": argument}


def test_a_cursor_from_another_list_is_refused(callers: Callers) -> None:
    articles = callers.anonymous.data("{ articles(first: 1) { pageInfo { endCursor } } }")
    body = callers.anonymous.ask(FEED, {"after": articles["articles"]["pageInfo"]["endCursor"]})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
