"""The site's pages over HTTP, on both databases: article, topic and expert pages, what
is 404, a preview key's view, and the cache that keeps and purges them. What a browser
makes of them: test_browser.py."""

from __future__ import annotations

import json
import re
from urllib.parse import quote

import pytest
from starlette.testclient import TestClient

from tests.api.site.conftest import SITE, Tags, edit, ok
from tests.api.site.content import (
    DRAFT,
    HOSTILE_SLUG,
    HOSTILE_TITLE,
    PAIN,
    REVIEWED,
    STONES,
)
from tests.helpers import execute, make_key


def test_article_page_is_semantic_and_complete(site: TestClient) -> None:
    response = ok(site, f"/articles/{PAIN}")
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    page = response.text
    tags = Tags(page)
    assert "<h1>Magnesium For Chronic Pain: Does it Help?</h1>" in page
    # The table of contents links to the sections' anchors, and every anchor exists.
    toc = [a["href"] for a in tags.find("a") if (a.get("href") or "").startswith("#")]
    anchors = {a["id"] for _, a in tags.tags if a.get("id")}
    assert "#magnesium-downgrades-pain-in-the-brain" in toc
    assert all(href[1:] in anchors for href in toc if href != "#main")
    # Quotes as blockquote + cite, linking to the expert's page.
    quote_html = re.search(r"<figure class=\"quote\">.*?</figure>", page, re.S)
    assert quote_html is not None
    assert "<blockquote><p>Virtually all of them improve when I put them on magnesium.</p>" in (
        quote_html.group(0)
    )
    assert f'<cite><a href="{SITE}/experts/linda-rapson">Dr. Linda Rapson</a></cite>' in (
        quote_html.group(0)
    )
    # Head: canonical, OpenGraph, oEmbed discovery, JSON-LD; the only script is the JSON-LD.
    assert tags.find("link", rel="canonical") == [
        {"rel": "canonical", "href": f"{SITE}/articles/{PAIN}"}
    ]
    assert tags.find("meta", property="og:title")[0]["content"] == (
        "Magnesium For Chronic Pain: Does it Help?"
    )
    assert tags.find("meta", property="og:url")[0]["content"] == f"{SITE}/articles/{PAIN}"
    discovery = tags.find("link", type="application/json+oembed")[0]["href"]
    assert discovery == f"{SITE}/oembed?url={quote(f'{SITE}/articles/{PAIN}', safe='')}&format=json"
    assert [attrs["type"] for attrs, _ in tags.scripts] == ["application/ld+json"]
    ld = json.loads(tags.scripts[0][1])
    assert ld["@type"] == "MedicalWebPage" and ld["url"] == f"{SITE}/articles/{PAIN}"
    # Related posts, the review box (this article has no review) and the attribution.
    assert f'<a href="{SITE}/articles/{STONES}">Magnesium for Kidney Stones</a>' in page
    assert "This article has not been medically reviewed." in page
    assert f'Source: <a href="{SITE}/articles/{PAIN}"' in page
    # No script may run, styles only from the site, and only the site may frame it.
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src" not in policy
    assert "frame-ancestors 'self'" in policy


def test_review_box_references_and_licence(site: TestClient) -> None:
    page = ok(site, f"/articles/{REVIEWED}").text
    assert f'Reviewed by <a href="{SITE}/experts/test-reviewer">Dr. Test Reviewer</a>, MD' in page
    assert '<time datetime="2026-01-01">1 January 2026</time>' in page
    assert "<strong>Review overdue:</strong>" in page  # due 2026-02-01, long past
    assert '<li id="ref-test-ref" value="1">' in page
    assert 'href="#ref-test-ref"' in page  # the citation in the body
    assert '<a href="https://creativecommons.org/licenses/by/4.0/" rel="license">' in page
    ids = [a["id"] for _, a in Tags(page).tags if a.get("id")]
    assert len(ids) == len(set(ids)), ids  # a "Main" section does not clash with <main>
    assert 'href="#main"' in page and '<section id="main"' in page


def test_hostile_title_stays_text(site: TestClient) -> None:
    page = ok(site, f"/articles/{HOSTILE_SLUG}").text
    tags = Tags(page)
    assert [attrs["type"] for attrs, _ in tags.scripts] == ["application/ld+json"]
    assert json.loads(tags.scripts[0][1])["headline"] == HOSTILE_TITLE
    assert "<h1>&lt;/script&gt;&lt;script&gt;alert(&#34;pwned&#34;)" in page
    assert tags.find("meta", property="og:title")[0]["content"] == HOSTILE_TITLE


def test_topic_and_expert_pages(site: TestClient) -> None:
    pain = ok(site, "/topics/pain").text
    # Its subtopics' articles too (fibromyalgia < chronic-pain < pain), never the draft.
    assert f'<a href="{SITE}/articles/{REVIEWED}">Fibromyalgia test notes</a>' in pain
    assert f'<a href="{SITE}/articles/{PAIN}">' in pain
    assert DRAFT not in pain
    assert f'href="{SITE}/feeds/topics/pain.atom"' in pain
    fibro = ok(site, "/topics/fibromyalgia").text
    assert f'Part of <a href="{SITE}/topics/chronic-pain">Chronic pain</a>' in fibro

    expert = ok(site, "/experts/linda-rapson").text
    assert "<h1>Dr. Linda Rapson</h1>" in expert
    assert "<blockquote" in expert and "<cite>Dr. Linda Rapson</cite>" in expert
    assert f'<a href="{SITE}/articles/{PAIN}">' in expert


def test_topic_page_pages_through_articles(site: TestClient) -> None:
    first = ok(site, "/topics/magnesium").text
    links = re.findall(r'<a href="[^"]*/articles/([a-z0-9-]+)">', first)
    assert set(links) == {PAIN, STONES, HOSTILE_SLUG}
    assert ok(site, "/topics/magnesium?after=").text == first
    bad = site.get("/topics/magnesium?after=not-a-cursor")
    assert bad.status_code == 400 and "cursor" in bad.text.lower()
    assert site.get("/topics/magnesium?after=" + "x" * 201).status_code == 400


@pytest.mark.parametrize(
    "path",
    [
        f"/articles/{DRAFT}",
        "/articles/no-such-article",
        "/articles/UPPER",
        "/articles/" + "a" * 201,
        "/topics/no-such-topic",
        "/experts/no-such-expert",
        f"/embed/articles/{DRAFT}",
        "/feeds/topics/no-such-topic.atom",
        "/feeds/experts/no-such-expert.atom",
        "/sitemaps/articles-2.xml",
        "/sitemaps/nothing-1.xml",
    ],
)
def test_missing_and_draft_pages_are_404(site: TestClient, path: str) -> None:
    response = site.get(path)
    assert response.status_code == 404, response.text
    assert response.headers["cache-control"] == "no-store"


def test_preview_key_shows_drafts_to_nobody_else(site: TestClient) -> None:
    key = make_key(site.database_url, "previewer", ["preview"])  # type: ignore[attr-defined]
    response = ok(site, f"/articles/{DRAFT}", authorization=f"Bearer {key}")
    assert "<h1>Draft test notes</h1>" in response.text
    assert "Preview: this article is not public." in response.text
    assert '<meta name="robots" content="noindex">' in response.text
    assert response.headers["cache-control"] == "private, no-store"
    # Nobody else sees it afterwards (the preview was not kept).
    assert site.get(f"/articles/{DRAFT}").status_code == 404
    bad = site.get(f"/articles/{PAIN}", headers={"authorization": "Bearer hck_nope"})
    assert bad.status_code == 401


def test_pages_are_cached_and_purged_by_tag(site: TestClient) -> None:
    first = ok(site, f"/articles/{PAIN}")
    assert first.headers["cache-control"].startswith("public, max-age=")
    assert re.search(r"(^| )Article:\d+( |$)", first.headers["surrogate-key"])
    again = site.get(f"/articles/{PAIN}", headers={"if-none-match": first.headers["etag"]})
    assert again.status_code == 304
    # Served from the cache: a change that bypasses the outbox is not seen...
    url = site.database_url  # type: ignore[attr-defined]
    execute(url, "UPDATE article SET title = 'Unseen' WHERE slug = :s", s=PAIN)
    assert "Unseen" not in ok(site, f"/articles/{PAIN}").text
    # ... while a preview key's request is made afresh, and kept by nobody.
    key = make_key(site.database_url, "previewer", ["preview"])  # type: ignore[attr-defined]
    preview = ok(site, f"/articles/{PAIN}", authorization=f"Bearer {key}")
    assert "<h1>Unseen</h1>" in preview.text
    assert preview.headers["cache-control"] == "private, no-store"
    assert "Unseen" not in ok(site, f"/articles/{PAIN}").text
    reader = make_key(site.database_url, "reader", [])  # type: ignore[attr-defined]
    keyed = ok(site, f"/articles/{PAIN}", authorization=f"Bearer {reader}")
    assert keyed.headers["cache-control"] == "private, no-cache"  # no shared cache keeps it
    assert "surrogate-key" not in keyed.headers
    # An edit drops every page that showed the article, at once on this worker.
    edit(site, PAIN, {"title": "Magnesium, edited"})
    assert "<h1>Magnesium, edited</h1>" in ok(site, f"/articles/{PAIN}").text
    assert "Magnesium, edited" in ok(site, "/topics/magnesium").text
    assert "Magnesium, edited" in ok(site, "/feeds/articles.atom").text
