"""The seed article, with everything a page needs, in one request."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from starlette.testclient import TestClient

from api.app import create_app
from api.settings import ApiSettings
from tests.api.conftest import Api
from tests.helpers import load

ARTICLE_PAGE = """
query ArticlePage($slug: String!) {
  article(slug: $slug) {
    __typename id slug title summary readingTimeMinutes url
    body(format: HTML)
    tableOfContents { __typename anchor heading level }
    sections { __typename anchor heading level html text
      quotes { __typename text context expert { __typename name honorific specialty } } }
    topics { __typename slug name kind }
    primaryTopic { slug }
    quotes { __typename id text context section { anchor } expert { __typename id name } }
    experts { __typename name location bio }
    relatedPosts(first: 3) { __typename title url excerpt label article { __typename slug } }
    review { reviewedAt }
    references { key }
    jsonLd
  }
}
"""
WORKS_FOR = "magnesium-works-for-migraines-fibromyalgia-and-other-forms-of-chronic-pain"


def test_the_seed_article_page(api: Api) -> None:
    article = api.data(ARTICLE_PAGE, {"slug": "magnesium-for-chronic-pain"})["article"]

    assert article["__typename"] == "Article"
    assert base64.b64decode(article["id"]).decode().startswith("Article:")
    assert article["title"] == "Magnesium For Chronic Pain: Does it Help?"
    assert [t["anchor"] for t in article["tableOfContents"]] == [
        "magnesium-downgrades-pain-in-the-brain",
        "magnesium-eases-pain-from-tension-and-spasm",
        WORKS_FOR,
    ]
    assert f'<h2 id="{WORKS_FOR}">' in article["body"]
    sections = {s["anchor"]: s for s in article["sections"]}
    assert sections["introduction"]["heading"] is None
    [first_quote, _] = sections[WORKS_FOR]["quotes"]
    assert first_quote["text"] == "Virtually all of them improve when I put them on magnesium."
    assert first_quote["context"] == "says Rapson, who runs a busy Toronto pain clinic"
    assert first_quote["expert"]["name"] == "Linda Rapson"
    assert first_quote["expert"]["honorific"] == "Dr."
    assert {q["section"]["anchor"] for q in article["quotes"]} == {WORKS_FOR}
    assert [e["name"] for e in article["experts"]] == ["Linda Rapson"]
    assert {"magnesium", "pain", "migraines"} <= {t["slug"] for t in article["topics"]}
    assert article["primaryTopic"] == {"slug": "magnesium"}
    [related] = article["relatedPosts"]
    assert related["title"] == "Magnesium for Kidney Stones"
    assert related["label"] == "kidney stones"
    assert related["article"] == {"__typename": "Article", "slug": "magnesium-for-kidney-stones"}
    assert related["excerpt"].startswith("Kidney stones are hard, crystallized mineral deposits")
    assert article["review"] is None and article["references"] == []

    json_ld = json.loads(article["jsonLd"])
    assert json_ld["@type"] == "MedicalWebPage"
    assert json_ld["headline"] == article["title"]
    assert json_ld["url"] == article["url"]
    assert {"@type": "DietarySupplement", "name": "Magnesium"} in json_ld["about"]


def test_an_unknown_slug_is_null_not_an_error(api: Api) -> None:
    assert api.data(ARTICLE_PAGE, {"slug": "no-such-article"}) == {"article": None}


def test_body_in_each_format(api: Api) -> None:
    query = """query { article(slug: "magnesium-for-kidney-stones") {
      html: body(format: HTML) markdown: body(format: MARKDOWN) text: body(format: TEXT) } }"""

    body = api.data(query)["article"]

    assert body["html"].startswith("<p>Kidney stones are hard")
    assert body["markdown"].startswith("Kidney stones are hard")
    assert body["text"].startswith("Kidney stones are hard") and "<p>" not in body["text"]


HOSTILE = "</script><script>alert(1)</script> & <!-- \u2028 \u2029 >"


def test_json_ld_is_inert_in_a_script_element(database_url: str, content_dir: Path) -> None:
    """An editor's title cannot end the <script> element a front end puts JSON-LD in."""
    (content_dir / "articles" / "hostile.md").write_text(
        f"---\ntitle: {json.dumps(HOSTILE)}\nsummary: {json.dumps(HOSTILE)}\n"
        "status: published\ntopics: [magnesium]\n---\nBody.\n"
    )
    assert load(database_url, content_dir).ok
    with TestClient(create_app(ApiSettings(database_url=database_url))) as client:
        response = client.post(
            "/graphql", json={"query": '{ article(slug: "hostile") { title jsonLd } }'}
        )
    article = response.json()["data"]["article"]
    assert article["title"] == HOSTILE
    json_ld = article["jsonLd"]
    for character in "<>&\u2028\u2029":
        assert character not in json_ld
    assert "\\u003c/script\\u003e" in json_ld
    data = json.loads(json_ld)
    assert data["headline"] == data["description"] == HOSTILE
