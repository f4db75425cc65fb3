"""Related posts: curated links first, then the articles sharing the most topics."""

from __future__ import annotations

from tests.api.conftest import Api

RELATED = """query($slug: String!) { article(slug: $slug) { slug topics { slug }
  one: relatedPosts(first: 1) { article { slug } }
  five: relatedPosts(first: 5) { label article { slug topics { slug } publishedAt } } } }"""


def test_curated_first_then_articles_sharing_topics(big_api: Api) -> None:
    article = big_api.data(RELATED, {"slug": "article-7"})["article"]
    shown = [post["article"]["slug"] for post in article["five"]]

    assert shown[0] == "article-8"  # its curated link
    assert len(shown) == len(set(shown)) == 5 and "article-7" not in shown
    mine = {topic["slug"] for topic in article["topics"]}
    shared = [
        len(mine & {t["slug"] for t in post["article"]["topics"]}) for post in article["five"][1:]
    ]
    assert all(shared) and shared == sorted(shared, reverse=True)  # most topics in common first
    # Asked for twice with different sizes in one request, the shorter is the longer's start.
    assert [post["article"]["slug"] for post in article["one"]] == shown[:1]


def test_related_posts_in_a_list_do_not_grow_with_the_page(big_api: Api) -> None:
    query = (
        "query($first: Int) { articles(first: $first) { edges { node { slug "
        "relatedPosts(first: 3) { title } } } } }"
    )

    assert big_api.statements(query, {"first": 5}) == big_api.statements(query, {"first": 50})
