"""The article list's editorial filters (review, reviewer, dates), its UPDATED order and its
case-insensitive TITLE order: keyset pages through ties, errors that name the argument, and
cached answers that follow the calendar."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from starlette.testclient import TestClient

from api.app import create_app
from api.services import services_of
from api.settings import ApiSettings
from schema.pagination import encode_cursor
from tests.api.conftest import Api
from tests.helpers import load, make_key, query

LIST = """query($first: Int, $after: String, $last: Int, $before: String, $order: ArticleOrder,
                 $reviewedBy: String, $reviewOverdue: Boolean, $reviewedAfter: Date,
                 $publishedAfter: DateTime, $publishedBefore: DateTime, $updatedAfter: DateTime,
                 $topic: String, $search: String, $status: [ArticleStatus!]) {
  articles(first: $first, after: $after, last: $last, before: $before, orderBy: $order,
           reviewedBy: $reviewedBy, reviewOverdue: $reviewOverdue, reviewedAfter: $reviewedAfter,
           publishedAfter: $publishedAfter, publishedBefore: $publishedBefore,
           updatedAfter: $updatedAfter, topic: $topic, search: $search, status: $status) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { slug title updatedAt review { isOverdue } } }
  }
}"""

TODAY = dt.datetime.now(dt.UTC).date()


def _day(offset: int) -> str:
    return str(TODAY + dt.timedelta(days=offset))


# slug: (title, published_at, review (reviewer, reviewed_at, next_review_due) or None)
ARTICLES: dict[str, tuple[str, str, tuple[str, str, str | None] | None]] = {
    "mg-for-sleep": (
        "Magnesium For Sleep",
        "2025-01-01T00:00:00Z",
        ("ann", "2024-03-01", _day(-1)),
    ),
    "mg-and-sleep": ("Magnesium and Sleep", "2025-01-02T00:00:00Z", ("ann", "2024-06-01", _day(0))),
    "mg-and-sleep-2": ("magnesium and sleep", "2025-01-03T00:00:00Z", ("bob", "2024-06-02", None)),
    "mg-and-sleep-3": ("MAGNESIUM AND SLEEP", "2025-01-04T00:00:00Z", None),
    "zinc": ("Zinc Basics", "2025-01-05T00:00:00Z", ("bob", "2023-01-01", "2024-01-01")),
    "cider": ("apple cider vinegar", "2025-01-06T00:00:00Z", ("bob", "2024-06-03", _day(30))),
    "bananas": ("Bananas and Potassium", "2025-01-07T00:00:00Z", None),
    "vitamin-d": ("Vitamin D in Winter", "2025-01-08T00:00:00Z", None),
    "vitamin-d-2": ("vitamin d in winter", "2025-01-09T00:00:00Z", None),
    "iron": ("Iron Needs", "2025-01-10T00:00:00Z", None),
    "calcium": ("Calcium Myths", "2025-01-11T00:00:00Z", None),
    "calcium-2": ("calcium myths", "2025-01-12T00:00:00Z", None),
}
DRAFT = "aardvark-draft"  # matches every review filter, but is a draft
# Edited in a second load: a later updatedAt than the rest (which share one).
EDITED = ("zinc", "bananas", "calcium-2")


def _write(root: Path, *, edition: int) -> Path:
    (root / "articles").mkdir(parents=True, exist_ok=True)
    topics = [{"slug": "nutrition", "name": "Nutrition"}]
    experts = [{"slug": "ann", "name": "Ann Reviewer"}, {"slug": "bob", "name": "Bob Reviewer"}]
    (root / "topics.yaml").write_text(yaml.safe_dump(topics))
    (root / "experts.yaml").write_text(yaml.safe_dump(experts))
    draft = ("Aardvark Draft", None, ("ann", "2024-07-01", "2024-08-01"))
    for slug, (title, published, review) in {**ARTICLES, DRAFT: draft}.items():
        front: dict[str, Any] = {
            "slug": slug,
            "title": title,
            "summary": f"About {title}, edition {edition if slug in EDITED else 1}.",
            "status": "draft" if published is None else "published",
            "topics": ["nutrition"],
        }
        if published is not None:
            front["published_at"] = published
        if slug == "mg-for-sleep":  # reviewed by ann, quoting bob
            front["quotes"] = [{"expert": "bob", "text": f"The body of {slug}."}]
        if review is not None:
            reviewer, reviewed, due = review
            front["review"] = {"reviewer": reviewer, "reviewed_at": reviewed}
            if due is not None:
                front["review"]["next_review_due"] = due
        text = f"---\n{yaml.safe_dump(front, sort_keys=False)}---\nThe body of {slug}.\n"
        (root / "articles" / f"{slug}.md").write_text(text)
    return root


@pytest.fixture
def listed(database_url: str, tmp_path: Path) -> str:
    """ARTICLES and DRAFT, loaded; then EDITED changed in a second load."""
    assert load(database_url, _write(tmp_path / "content", edition=1)).ok
    time.sleep(0.01)  # the second load's time is later on any clock
    assert load(database_url, _write(tmp_path / "content", edition=2)).ok
    return database_url


@pytest.fixture
def lists_api(listed: str) -> Iterator[Api]:
    settings = ApiSettings(database_url=listed, response_cache=False)
    with TestClient(create_app(settings)) as client:
        yield Api(client)


def _ids(url: str) -> dict[str, int]:
    return {row["slug"]: row["id"] for row in query(url, "SELECT id, slug FROM article")}


def _slugs(api: Api, **variables: Any) -> list[str]:
    edges = api.data(LIST, {"first": 100, **variables})["articles"]["edges"]
    return [edge["node"]["slug"] for edge in edges]


def _error(api: Api, **variables: Any) -> dict[str, Any]:
    body = api.post(LIST, {"first": 5, **variables}).json()
    assert body.get("data") is None or body["data"]["articles"] is None, body
    (error,) = body["errors"]
    return error


def _walk(api: Api, size: int, **variables: Any) -> tuple[list[str], list[str]]:
    """Every slug of a list, paging forward by `first: size`, then backward by `last`."""
    forward: list[str] = []
    after = None
    while True:
        page = api.data(LIST, {"first": size, "after": after, **variables})["articles"]
        forward += [edge["node"]["slug"] for edge in page["edges"]]
        assert len(page["edges"]) <= size
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    backward: list[str] = []
    before = None
    while True:
        page = api.data(LIST, {"last": size, "before": before, **variables})["articles"]
        backward = [edge["node"]["slug"] for edge in page["edges"]] + backward
        if not page["pageInfo"]["hasPreviousPage"]:
            break
        before = page["pageInfo"]["startCursor"]
    return forward, backward


def test_title_order_ignores_case_and_breaks_ties_by_id(lists_api: Api, listed: str) -> None:
    ids = _ids(listed)
    forward, backward = _walk(lists_api, 3, order="TITLE")

    assert forward.index("mg-and-sleep") < forward.index("mg-for-sleep")
    assert forward[0] == "cider"  # "apple ..." before "Bananas ..."; no longer after "Zinc"
    # Titles equal but for case follow each other, in id order.
    expected = sorted(ARTICLES, key=lambda slug: (ARTICLES[slug][0].lower(), ids[slug]))
    assert forward == backward == expected
    trio = sorted(("mg-and-sleep", "mg-and-sleep-2", "mg-and-sleep-3"), key=ids.__getitem__)
    start = forward.index(trio[0])
    assert forward[start : start + 3] == trio


def test_updated_order_pages_through_equal_times_newest_first(lists_api: Api, listed: str) -> None:
    ids = _ids(listed)
    everything = lists_api.data(LIST, {"first": 100, "order": "UPDATED"})["articles"]
    times = {e["node"]["slug"]: e["node"]["updatedAt"] for e in everything["edges"]}
    assert len(set(times.values())) == 2  # one time for each load: ties everywhere

    forward, backward = _walk(lists_api, 2, order="UPDATED")

    edited = sorted(EDITED, key=ids.__getitem__, reverse=True)
    rest = sorted(set(ARTICLES) - set(EDITED), key=ids.__getitem__, reverse=True)
    assert forward == backward == edited + rest
    assert len(set(forward)) == len(ARTICLES)


def test_updated_after_is_exclusive(lists_api: Api) -> None:
    edges = lists_api.data(LIST, {"first": 100, "order": "UPDATED"})["articles"]["edges"]
    first_load = edges[-1]["node"]["updatedAt"]

    later = _slugs(lists_api, updatedAfter=first_load)
    everything = _slugs(lists_api, updatedAfter="2000-01-01T00:00:00+05:00")

    assert sorted(later) == sorted(EDITED)
    assert sorted(everything) == sorted(ARTICLES)


def test_published_bounds_are_exclusive_and_any_zone_means_the_same_moment(
    lists_api: Api,
) -> None:
    between = _slugs(
        lists_api,
        publishedAfter="2025-01-02T00:00:00Z",
        publishedBefore="2025-01-05T01:00:00+01:00",  # 2025-01-05T00:00:00Z
        order="OLDEST",
    )
    after = _slugs(lists_api, publishedAfter="2025-01-11T00:00:00Z", order="OLDEST")
    before = _slugs(lists_api, publishedBefore="2025-01-02T00:00:01Z", order="OLDEST")

    assert between == ["mg-and-sleep-2", "mg-and-sleep-3"]
    assert after == ["calcium-2"]
    assert before == ["mg-for-sleep", "mg-and-sleep"]


def test_review_filters(lists_api: Api) -> None:
    overdue = _slugs(lists_api, reviewOverdue=True, order="TITLE")
    not_overdue = _slugs(lists_api, reviewOverdue=False)
    by_ann = _slugs(lists_api, reviewedBy="ann", order="TITLE")
    by_nobody = lists_api.data(LIST, {"reviewedBy": "no-such-expert"})["articles"]
    since = _slugs(lists_api, reviewedAfter="2024-06-01", order="TITLE")

    # Due yesterday or long ago; due today is not overdue yet.
    assert overdue == ["mg-for-sleep", "zinc"]
    assert sorted(not_overdue) == sorted(set(ARTICLES) - {"mg-for-sleep", "zinc"})
    assert by_ann == ["mg-and-sleep", "mg-for-sleep"]
    assert by_nobody["totalCount"] == 0 and by_nobody["edges"] == []
    assert since == ["cider", "mg-and-sleep-2"]  # reviewed on 2024-06-01 is not after it


def test_filters_combine_with_each_other_with_topics_and_with_search(lists_api: Api) -> None:
    page = lists_api.data(
        LIST,
        {
            "first": 1,
            "reviewedBy": "ann",
            "reviewOverdue": False,
            "publishedAfter": "2025-01-01T00:00:00Z",
            "topic": "nutrition",
        },
    )["articles"]
    searched = _slugs(lists_api, search="magnesium", reviewedBy="bob")
    overdue_by_bob = _slugs(lists_api, reviewOverdue=True, reviewedBy="bob")
    nothing = lists_api.data(
        LIST, {"reviewOverdue": True, "publishedAfter": "2025-01-02T00:00:00Z", "reviewedBy": "ann"}
    )["articles"]

    assert page["totalCount"] == 1
    assert [edge["node"]["slug"] for edge in page["edges"]] == ["mg-and-sleep"]
    assert searched == ["mg-and-sleep-2"]
    assert overdue_by_bob == ["zinc"]
    assert nothing["totalCount"] == 0


def test_drafts_match_only_for_a_preview_key(lists_api: Api, listed: str) -> None:
    variables = {"first": 100, "reviewOverdue": True, "reviewedBy": "ann"}
    anonymous = lists_api.data(LIST, variables)["articles"]["edges"]
    key = make_key(listed, "editor", ["preview"])
    previewed = lists_api.post(
        LIST, {**variables, "status": ["DRAFT", "PUBLISHED"]}, authorization=f"Bearer {key}"
    ).json()

    assert [edge["node"]["slug"] for edge in anonymous] == ["mg-for-sleep"]
    assert "errors" not in previewed, previewed
    assert sorted(e["node"]["slug"] for e in previewed["data"]["articles"]["edges"]) == [
        DRAFT,
        "mg-for-sleep",
    ]


@pytest.mark.parametrize(
    ("variables", "argument"),
    [
        ({"publishedAfter": "2025-01-01T00:00:00"}, "publishedAfter"),
        ({"publishedBefore": "2025-01-01"}, "publishedBefore"),
        ({"updatedAfter": "2025-01-01T08:00:00"}, "updatedAfter"),
        ({"updatedAfter": "9999-12-31T23:00:00-05:00"}, "updatedAfter"),  # past year 9999 in UTC
        (
            {
                "publishedAfter": "2025-01-02T00:00:00Z",
                "publishedBefore": "2025-01-02T01:00:00+01:00",
            },
            "publishedBefore",
        ),
        (
            {"order": "UPDATED", "after": encode_cursor("title", ["Magnesium For Sleep", 1])},
            "after",
        ),
    ],
)
def test_bad_arguments_are_refused_by_name(
    lists_api: Api, variables: dict[str, Any], argument: str
) -> None:
    error = _error(lists_api, **variables)

    assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": argument}
    assert error["message"].startswith(f"{argument}: ")


def test_values_that_are_not_dates_are_refused(lists_api: Api) -> None:
    for variables in ({"reviewedAfter": "2025-13-01"}, {"updatedAfter": "yesterday"}):
        body = lists_api.post(LIST, {"first": 5, **variables}).json()
        (name,) = variables
        assert "data" not in body, body
        assert f"${name}" in body["errors"][0]["message"]


def test_title_cursors_given_out_before_case_folding_are_refused(
    lists_api: Api, listed: str
) -> None:
    ids = _ids(listed)
    old = encode_cursor("title", ["Magnesium For Sleep", ids["mg-for-sleep"]])
    current = lists_api.data(LIST, {"first": 1, "order": "TITLE"})["articles"]

    error = _error(lists_api, order="TITLE", after=old)
    following = lists_api.data(
        LIST, {"first": 1, "order": "TITLE", "after": current["pageInfo"]["endCursor"]}
    )["articles"]

    assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": "after"}
    assert "not a cursor for this list" in error["message"]
    assert [edge["node"]["slug"] for edge in following["edges"]] == ["bananas"]


def test_nested_lists_take_the_new_arguments(lists_api: Api) -> None:
    data = lists_api.data(
        """{ topic(slug: "nutrition") {
               articles(reviewOverdue: true, orderBy: UPDATED) { edges { node { slug } } } }
             expert(slug: "bob") {
               articles(reviewedAfter: "2024-01-01", orderBy: TITLE) {
                 edges { node { slug } } } } }"""
    )

    assert [e["node"]["slug"] for e in data["topic"]["articles"]["edges"]] == [
        "zinc",
        "mg-for-sleep",
    ]
    # Quoting bob or reviewed by him, and reviewed after the day.
    assert [e["node"]["slug"] for e in data["expert"]["articles"]["edges"]] == [
        "cider",
        "mg-and-sleep-2",
        "mg-for-sleep",
    ]


def test_a_cached_overdue_list_lasts_until_midnight_utc(listed: str) -> None:
    ttl = 3 * 24 * 3600  # longer than the time to midnight
    settings = ApiSettings(database_url=listed, query_stats=True, response_cache_ttl_s=ttl)
    document = "{ articles(reviewOverdue: true) { edges { node { slug } } } }"
    with TestClient(create_app(settings)) as client:
        cache = services_of(client.app).response_cache
        now = [time.time()]
        cache.clock = lambda: now[0]

        def hit() -> bool:
            body = client.post("/graphql", json={"query": document}).json()
            assert [e["node"]["slug"] for e in body["data"]["articles"]["edges"]] == [
                "zinc",
                "mg-for-sleep",
            ]
            return bool(body["extensions"]["cache"]["hit"])

        assert hit() is False
        assert hit() is True
        # Tomorrow "Magnesium and Sleep" (due today) is overdue too: the answer must go.
        midnight = dt.datetime.combine(TODAY + dt.timedelta(days=1), dt.time(), dt.UTC)
        now[0] = midnight.timestamp() - 1
        assert hit() is True
        now[0] = midnight.timestamp()
        assert hit() is False


def test_a_cached_list_by_reviewer_follows_the_reviewer_s_slug(listed: str) -> None:
    writer = make_key(listed, "editor", ["write"])
    rename = """mutation { updateExpert(slug: "ann", expectedVersion: 1, patch: {slug: "ann-b"})
                  { errors { message } } }"""
    document = """{ topic(slug: "nutrition") { articles(reviewedBy: "ann") { totalCount } }
                    expert(slug: "bob") { articles(reviewedBy: "ann") { totalCount } } }"""
    settings = ApiSettings(database_url=listed, query_stats=True)
    with TestClient(create_app(settings)) as client:

        def ask() -> tuple[int, int, bool]:
            body = client.post("/graphql", json={"query": document}).json()
            data = body["data"]
            found = (
                data["topic"]["articles"]["totalCount"],
                data["expert"]["articles"]["totalCount"],
            )
            return *found, bool(body["extensions"]["cache"]["hit"])

        assert ask() == (2, 1, False)  # bob is quoted in one of ann's two
        assert ask()[2] is True
        renamed = client.post(
            "/graphql", json={"query": rename}, headers={"authorization": f"Bearer {writer}"}
        ).json()
        assert renamed["data"]["updateExpert"]["errors"] == [], renamed

        assert ask() == (0, 0, False)
