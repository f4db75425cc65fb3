"""Lists: keyset pages forward and backward, filters, and SQL that does not grow with the page."""

from __future__ import annotations

import base64

import orjson
import pytest

from schema import lookups
from tests.api.conftest import Api

LIST = """query($first: Int, $after: String, $last: Int, $before: String, $order: ArticleOrder,
                 $topic: String, $expert: String) {
  articles(first: $first, after: $after, last: $last, before: $before, orderBy: $order,
           topic: $topic, expert: $expert) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { __typename slug title topics { __typename slug name } } }
  }
}"""


def _page(api: Api, **variables: object) -> dict:
    return api.data(LIST, variables)["articles"]


def test_forward_then_backward_pages_cover_everything_once(big_api: Api) -> None:
    slugs, after = [], None
    while True:
        page = _page(big_api, first=25, after=after)
        slugs += [e["node"]["slug"] for e in page["edges"]]
        assert page["totalCount"] == 62
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(slugs) == len(set(slugs)) == 62

    backward, before = [], None
    while True:
        page = _page(big_api, last=25, before=before)
        backward = [e["node"]["slug"] for e in page["edges"]] + backward
        if not page["pageInfo"]["hasPreviousPage"]:
            break
        before = page["pageInfo"]["startCursor"]
    assert backward == slugs


def test_orders(big_api: Api) -> None:
    by_title = [e["node"]["title"] for e in _page(big_api, first=100, order="TITLE")["edges"]]
    newest = [e["node"]["slug"] for e in _page(big_api, first=100, order="NEWEST")["edges"]]
    oldest = [e["node"]["slug"] for e in _page(big_api, first=100, order="OLDEST")["edges"]]

    assert by_title == sorted(by_title, key=str.lower)
    assert oldest == newest[::-1]


def test_a_cursor_from_another_order_is_refused(big_api: Api) -> None:
    cursor = _page(big_api, first=1, order="TITLE")["pageInfo"]["endCursor"]

    body = big_api.post(LIST, {"first": 1, "after": cursor, "order": "NEWEST"}).json()

    assert body["errors"][0]["extensions"]["argument"] == "after"


def test_topic_filter_includes_subtopics_and_expert_filter(api: Api) -> None:
    about_pain = _page(api, topic="pain")  # chronic pain article is tagged pain and children
    fibro = _page(api, topic="fibromyalgia")
    rapson = _page(api, expert="linda-rapson")
    nobody = _page(api, topic="no-such-topic")

    assert [e["node"]["slug"] for e in about_pain["edges"]] == ["magnesium-for-chronic-pain"]
    assert fibro["totalCount"] == 1
    assert [e["node"]["slug"] for e in rapson["edges"]] == ["magnesium-for-chronic-pain"]
    assert nobody["totalCount"] == 0 and nobody["edges"] == []


def test_nested_connections_take_the_same_arguments(api: Api) -> None:
    query = """{ topic(slug: "magnesium") { articles(first: 1, orderBy: TITLE) { totalCount
                  edges { node { slug } } pageInfo { hasNextPage } } }
                expert(slug: "linda-rapson") { articles { totalCount } quotes { text } } }"""

    data = api.data(query)

    assert data["topic"]["articles"]["totalCount"] == 2
    assert data["topic"]["articles"]["edges"] == [{"node": {"slug": "magnesium-for-chronic-pain"}}]
    assert data["topic"]["articles"]["pageInfo"]["hasNextPage"] is True
    assert data["expert"]["articles"]["totalCount"] == 1
    assert len(data["expert"]["quotes"]) == 2


def test_topics_and_experts_lists(api: Api) -> None:
    data = api.data(
        """{ topics(first: 3, kind: CONDITION) { totalCount edges { node { slug kind } } }
             experts { totalCount edges { node { slug } } } }"""
    )

    assert data["topics"]["totalCount"] == 6
    assert {e["node"]["kind"] for e in data["topics"]["edges"]} == {"CONDITION"}
    assert data["experts"]["edges"] == [{"node": {"slug": "linda-rapson"}}]


def test_sql_statements_do_not_grow_with_the_page(big_api: Api) -> None:
    small = big_api.statements(LIST, {"first": 5})
    large = big_api.statements(LIST, {"first": 50})

    assert small == large == 2  # the page (with its count), then every article's topics


def test_article_page_statements_are_bounded(big_api: Api) -> None:
    from tests.api.test_article_page import ARTICLE_PAGE

    count = big_api.statements(ARTICLE_PAGE, {"slug": "magnesium-for-chronic-pain"})

    # the article; its topics and references; quotes with experts; related posts with theirs
    assert count <= 4


def test_the_list_is_counted_only_when_totalcount_is_asked_for(big_api: Api) -> None:
    total = _page(big_api, first=2)["totalCount"]
    assert total == 62  # 60 synthetic articles and the seed's two
    # However it is asked for (directly, in a fragment, in an inline fragment), it is exact.
    for selection, fragment in (
        ("...Counted", "fragment Counted on ArticleConnection { totalCount }"),
        ("... on ArticleConnection { totalCount }", ""),
        ("... @include(if: true) { n: totalCount }", ""),
    ):
        query = f"{{ articles(first: 2) {{ {selection} edges {{ node {{ slug }} }} }} }} {fragment}"
        counted = big_api.data(query)["articles"]
        assert counted.get("totalCount", counted.get("n")) == total, selection
    # Not asked for (then not counted), the page is the same.
    without = "{ articles(first: 2) { edges { node { slug } } } }"
    plain = big_api.post(without).json()
    assert "errors" not in plain and len(plain["data"]["articles"]["edges"]) == 2


def test_an_article_deleted_while_its_list_is_read_does_not_fail_the_list(
    big_api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The list's rows, then their text in a second statement: an article deleted in between
    # has no text left to read.
    async def nothing(**_: object) -> dict[int, object]:
        return {}

    monkeypatch.setattr(lookups, "article_texts", nothing)
    articles = big_api.data(
        "{ articles(first: 3) { edges { node { slug body sections { html } } } } }"
    )
    assert [edge["node"]["body"] for edge in articles["articles"]["edges"]] == ["", "", ""]


def test_node_relations_answer_alike_however_they_are_selected(big_api: Api) -> None:
    # A list loads its nodes' selected relations for the whole page ahead; fields a plan did
    # not foresee load as before. Either way the answer is the same.
    fields = "slug topics { slug } primaryTopic { slug } quotes { text } experts { slug }"
    lists = "{ articles(first: 4) { %s } }"
    direct = big_api.data(lists % f"edges {{ node {{ {fields} }} }}")
    for query in (
        lists % "edges { node { ...F } }" + f" fragment F on Article {{ {fields} }}",
        lists % f"... on ArticleConnection {{ edges {{ node {{ {fields} }} }} }}",
        lists % f"edges {{ ... {{ node {{ ... on Article {{ {fields} }} }} }} }}",
    ):
        assert big_api.data(query) == direct, query
    assert all(edge["node"]["topics"] for edge in direct["articles"]["edges"])
    # The page, its topics, its quotes with their experts: whatever the page size.
    assert big_api.statements(lists % f"edges {{ node {{ {fields} }} }}") == 3


def test_topics_and_references_read_together_answer_as_read_apart(big_api: Api) -> None:
    # Selected together, a page's topics and references come in one statement.
    lists = "{ articles(first: 6) { edges { node { slug %s } } } }"
    topics, references = "topics { slug } primaryTopic { slug }", "references { key number }"
    together = big_api.data(lists % f"{topics} {references}")["articles"]["edges"]
    apart = zip(
        big_api.data(lists % topics)["articles"]["edges"],
        big_api.data(lists % references)["articles"]["edges"],
        strict=True,
    )
    assert [edge["node"] for edge in together] == [{**a["node"], **b["node"]} for a, b in apart]
    assert any(edge["node"]["references"] for edge in together)
    assert big_api.statements(lists % f"{topics} {references}") == 2


def _cursor(payload: list[object]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(payload)).decode()


def test_forged_cursors_are_bad_input(api: Api) -> None:
    query = """query($after: String, $order: ArticleOrder) {
      articles(after: $after, orderBy: $order) { totalCount } }"""
    topics = "query($after: String) { topics(after: $after) { totalCount } }"
    cases = [
        (query, ["newest"], "NEWEST"),
        (query, ["newest", 5, 1], "NEWEST"),
        (query, ["newest", "garbage", 1], "NEWEST"),
        (query, ["newest", "2026-01-01T00:00:00+00:00", 1, 2], "NEWEST"),
        (query, ["newest", "2026-01-01T00:00:00", 1], "NEWEST"),
        (query, ["title", "A", 2**40], "TITLE"),
        (topics, ["topic", [1], 1], None),
        (topics, ["topic", 5, "x"], None),
    ]
    for text, payload, order in cases:
        body = api.post(text, {"after": _cursor(payload), "order": order}).json()
        [error] = body["errors"]
        assert error["extensions"]["code"] == "BAD_USER_INPUT", (payload, error)
        assert error["extensions"]["argument"] == "after"


def test_first_zero_still_says_whether_there_is_more(api: Api) -> None:
    page = api.data(
        "{ articles(first: 0) { totalCount edges { cursor } pageInfo { hasNextPage } } }"
    )

    assert page["articles"] == {"totalCount": 2, "edges": [], "pageInfo": {"hasNextPage": True}}
