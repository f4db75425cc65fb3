"""Full-text search: stemmed, ranked, safe with any input, and in step with edits."""

from __future__ import annotations

from pathlib import Path

import pytest

from schema import search
from seed_data import SEED_DIR
from tests.api.conftest import Api
from tests.helpers import load

SEARCH = """query($q: String, $first: Int, $after: String, $order: ArticleOrder, $topic: String) {
  articles(search: $q, first: $first, after: $after, orderBy: $order, topic: $topic) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { slug } } } }"""


def _slugs(api: Api, query: str, **variables: object) -> list[str]:
    page = api.data(SEARCH, {"q": query, **variables})["articles"]
    return [edge["node"]["slug"] for edge in page["edges"]]


def test_words_are_stemmed_and_prefixes_match(api: Api) -> None:
    assert _slugs(api, "migraine") == ["magnesium-for-chronic-pain"]  # the body says migraines
    assert _slugs(api, "NMDA receptors toronto") == []  # every word must match
    assert _slugs(api, "pain clinic Toronto") == ["magnesium-for-chronic-pain"]
    assert _slugs(api, "kidn") == ["magnesium-for-kidney-stones"]  # search as you type


def test_title_matches_rank_first(api: Api) -> None:
    # Both articles mention kidney stones? Only one; but both mention magnesium, and only
    # the kidney-stones article is short and has it in its title and summary.
    assert _slugs(api, "kidney stones magnesium") == ["magnesium-for-kidney-stones"]
    ranked = _slugs(api, "magnesium")
    assert set(ranked) == {"magnesium-for-chronic-pain", "magnesium-for-kidney-stones"}


def test_any_input_is_safe(api: Api) -> None:
    for text in ['"', "a OR", "NEAR(", "pain*", "-pain", "col:pain", "'; DROP TABLE article; --",
                 "(((", "^pain", "pain AND NOT", "ünïcödé", "pain:* & !", "a <-> b"]:  # fmt: skip
        body = api.post(SEARCH, {"q": text}).json()
        codes = {e["extensions"]["code"] for e in body.get("errors", [])}
        assert codes <= {"BAD_USER_INPUT"}, (text, body)  # never an internal error
    assert _slugs(api, "-pain") == _slugs(api, "pain")  # operators are just punctuation


def test_no_words_and_relevance_without_search_are_bad_input(api: Api) -> None:
    for variables in ({"q": "  ?! "}, {"q": None, "order": "RELEVANCE"}):
        [error] = api.post(SEARCH, variables).json()["errors"]
        assert error["extensions"]["code"] == "BAD_USER_INPUT", variables


def test_relevance_pages_cover_every_match_once(big_api: Api) -> None:
    seen, after = [], None
    while True:
        page = big_api.data(SEARCH, {"q": "magnesium", "first": 7, "after": after})["articles"]
        seen += [edge["node"]["slug"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(seen) == len(set(seen)) == page["totalCount"] > 7


def test_search_combines_with_filters(api: Api) -> None:
    assert _slugs(api, "magnesium", topic="kidney-stones") == ["magnesium-for-kidney-stones"]


def test_the_index_follows_edits(api: Api, database_url: str, content_dir: Path) -> None:
    path = content_dir / "articles" / "magnesium-for-kidney-stones.md"
    path.write_text(path.read_text().replace("crystallized", "calcified"))
    assert load(database_url, content_dir).ok

    assert _slugs(api, "calcified") == ["magnesium-for-kidney-stones"]
    assert _slugs(api, "crystallized") == []
    assert load(database_url, SEED_DIR).ok


def test_long_searches_are_refused_before_they_reach_the_database(api: Api) -> None:
    for text, limit in ((" ".join(["pain"] * 17), "at most 16 words"), ("p" * 201, "200")):
        [error] = api.post(SEARCH, {"q": text}).json()["errors"]
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
        assert limit in error["message"]
    assert api.data(SEARCH, {"q": " ".join(["pain"] * 16)})["articles"]["totalCount"] == 1


def test_relevance_ranks_the_newest_matches_and_counts_them_all(
    big_api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    everything = _slugs(big_api, "magnesium", first=100, order="NEWEST")
    monkeypatch.setattr(search, "RANK_WINDOW", 10)
    page = big_api.data(SEARCH, {"q": "magnesium", "first": 100})["articles"]
    ranked = [edge["node"]["slug"] for edge in page["edges"]]
    # The best of the ten newest matches, each once; the count is still of every match.
    assert sorted(ranked) == sorted(everything[:10])
    assert page["totalCount"] == len(everything) > 10
    assert page["pageInfo"]["hasNextPage"] is False


@pytest.mark.parametrize("dense", [1, 10_000], ids=["walk-newest-first", "collect-matches"])
def test_both_plans_for_a_search_answer_alike(
    big_api: Api, monkeypatch: pytest.MonkeyPatch, dense: int
) -> None:
    # PostgreSQL picks a plan by how many articles match (a probe against DENSE_MATCHES);
    # whichever it picks, the answer is the same.
    newest = _slugs(big_api, "magnesium", first=100, order="NEWEST")
    relevant = _slugs(big_api, "magnesium", first=100)
    titled = _slugs(big_api, "magnesium", first=5, order="TITLE", topic="topic-3")
    monkeypatch.setattr(search, "DENSE_MATCHES", dense)
    assert _slugs(big_api, "magnesium", first=100, order="NEWEST") == newest
    assert _slugs(big_api, "magnesium", first=100) == relevant
    assert _slugs(big_api, "magnesium", first=5, order="TITLE", topic="topic-3") == titled
