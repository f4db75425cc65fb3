"""The site over HTTP: article, topic and expert pages, the embed card, oEmbed, Atom feeds and
the sitemap, on both databases. What a browser makes of them: test_site_browser.py."""

from __future__ import annotations

import email.utils
import http.client
import json
import re
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import quote

import feedparser
import pytest
from starlette.testclient import TestClient

from api.app import create_app
from api.settings import ApiSettings
from tests.api.conftest import running_server
from tests.api.site_content import (
    DRAFT,
    HOSTILE_SLUG,
    HOSTILE_TITLE,
    PAIN,
    REVIEWED,
    STONES,
    write_site_content,
)
from tests.helpers import execute, load, make_key

SITE = "https://health.example"
ATOM = "{http://www.w3.org/2005/Atom}"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


class Tags(HTMLParser):
    """Every start tag of a page, with its attributes, and the JSON-LD blocks' text."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self._script: dict[str, str | None] | None = None
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self._script = dict(attrs)
            self.scripts.append((self._script, ""))

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            attrs, text = self.scripts[-1]
            self.scripts[-1] = (attrs, text + data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._script = None

    def find(self, tag: str, **attrs: str) -> list[dict[str, str | None]]:
        return [
            a
            for t, a in self.tags
            if t == tag and all(a.get(k.rstrip("_")) == v for k, v in attrs.items())
        ]


@pytest.fixture
def site(database_url: str, content_dir: Path) -> Iterator[TestClient]:
    assert load(database_url, write_site_content(content_dir, hostile=True)).ok
    settings = ApiSettings(database_url=database_url, site_url=SITE, sitemap_urls_per_file=50000)
    with TestClient(create_app(settings)) as client:
        client.database_url = database_url  # type: ignore[attr-defined]
        yield client


def _ok(client: TestClient, path: str, **headers: str) -> Any:
    response = client.get(path, headers=headers)
    assert response.status_code == 200, (path, response.status_code, response.text[:500])
    return response


def test_article_page_is_semantic_and_complete(site: TestClient) -> None:
    response = _ok(site, f"/articles/{PAIN}")
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
    page = _ok(site, f"/articles/{REVIEWED}").text
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
    page = _ok(site, f"/articles/{HOSTILE_SLUG}").text
    tags = Tags(page)
    assert [attrs["type"] for attrs, _ in tags.scripts] == ["application/ld+json"]
    assert json.loads(tags.scripts[0][1])["headline"] == HOSTILE_TITLE
    assert "<h1>&lt;/script&gt;&lt;script&gt;alert(&#34;pwned&#34;)" in page
    assert tags.find("meta", property="og:title")[0]["content"] == HOSTILE_TITLE


def test_topic_and_expert_pages(site: TestClient) -> None:
    pain = _ok(site, "/topics/pain").text
    # Its subtopics' articles too (fibromyalgia < chronic-pain < pain), never the draft.
    assert f'<a href="{SITE}/articles/{REVIEWED}">Fibromyalgia test notes</a>' in pain
    assert f'<a href="{SITE}/articles/{PAIN}">' in pain
    assert DRAFT not in pain
    assert f'href="{SITE}/feeds/topics/pain.atom"' in pain
    fibro = _ok(site, "/topics/fibromyalgia").text
    assert f'Part of <a href="{SITE}/topics/chronic-pain">Chronic pain</a>' in fibro

    expert = _ok(site, "/experts/linda-rapson").text
    assert "<h1>Dr. Linda Rapson</h1>" in expert
    assert "<blockquote" in expert and "<cite>Dr. Linda Rapson</cite>" in expert
    assert f'<a href="{SITE}/articles/{PAIN}">' in expert


def test_topic_page_pages_through_articles(site: TestClient) -> None:
    first = _ok(site, "/topics/magnesium").text
    links = re.findall(r'<a href="[^"]*/articles/([a-z0-9-]+)">', first)
    assert set(links) == {PAIN, STONES, HOSTILE_SLUG}
    assert _ok(site, "/topics/magnesium?after=").text == first
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
    response = _ok(site, f"/articles/{DRAFT}", authorization=f"Bearer {key}")
    assert "<h1>Draft test notes</h1>" in response.text
    assert "Preview: this article is not public." in response.text
    assert '<meta name="robots" content="noindex">' in response.text
    assert response.headers["cache-control"] == "private, no-store"
    # Nobody else sees it afterwards (the preview was not kept).
    assert site.get(f"/articles/{DRAFT}").status_code == 404
    bad = site.get(f"/articles/{PAIN}", headers={"authorization": "Bearer hck_nope"})
    assert bad.status_code == 401


def test_pages_are_cached_and_purged_by_tag(site: TestClient) -> None:
    first = _ok(site, f"/articles/{PAIN}")
    assert first.headers["cache-control"].startswith("public, max-age=")
    assert re.search(r"(^| )Article:\d+( |$)", first.headers["surrogate-key"])
    again = site.get(f"/articles/{PAIN}", headers={"if-none-match": first.headers["etag"]})
    assert again.status_code == 304
    # Served from the cache: a change that bypasses the outbox is not seen...
    url = site.database_url  # type: ignore[attr-defined]
    execute(url, "UPDATE article SET title = 'Unseen' WHERE slug = :s", s=PAIN)
    assert "Unseen" not in _ok(site, f"/articles/{PAIN}").text
    # ... while a preview key's request is made afresh, and kept by nobody.
    key = make_key(site.database_url, "previewer", ["preview"])  # type: ignore[attr-defined]
    preview = _ok(site, f"/articles/{PAIN}", authorization=f"Bearer {key}")
    assert "<h1>Unseen</h1>" in preview.text
    assert preview.headers["cache-control"] == "private, no-store"
    assert "Unseen" not in _ok(site, f"/articles/{PAIN}").text
    reader = make_key(site.database_url, "reader", [])  # type: ignore[attr-defined]
    keyed = _ok(site, f"/articles/{PAIN}", authorization=f"Bearer {reader}")
    assert keyed.headers["cache-control"] == "private, no-cache"  # no shared cache keeps it
    assert "surrogate-key" not in keyed.headers
    # An edit drops every page that showed the article, at once on this worker.
    _edit(site, PAIN, {"title": "Magnesium, edited"})
    assert "<h1>Magnesium, edited</h1>" in _ok(site, f"/articles/{PAIN}").text
    assert "Magnesium, edited" in _ok(site, "/topics/magnesium").text
    assert "Magnesium, edited" in _ok(site, "/feeds/articles.atom").text


def test_embed_card_and_who_may_frame_it(site: TestClient) -> None:
    response = _ok(site, f"/embed/articles/{REVIEWED}?maxwidth=300")
    card = response.text
    assert "<h1><a href=" in card and "Fibromyalgia test notes" in card
    assert "Review overdue by Dr. Test Reviewer" in card
    assert "min read" in card and 'class="card narrow"' in card
    assert f'<a href="{SITE}/articles/{REVIEWED}" target="_blank" rel="noopener">' in card
    assert "<script" not in card
    assert response.headers["content-security-policy"].endswith("frame-ancestors *")
    assert "x-frame-options" not in response.headers

    key = make_key(
        site.database_url,  # type: ignore[attr-defined]
        "partner",
        [],
        origins=["https://partner.example"],
    )
    prefix = key.split("_")[1]
    keyed = _ok(site, f"/embed/articles/{REVIEWED}?key={prefix}")
    policy = keyed.headers["content-security-policy"]
    assert policy.endswith("frame-ancestors https://partner.example")
    assert site.get(f"/embed/articles/{REVIEWED}?key={key}").status_code == 400
    assert site.get(f"/embed/articles/{REVIEWED}?key=0123456789").status_code == 404
    assert site.get(f"/embed/articles/{REVIEWED}?maxwidth=wide").status_code == 400


def _oembed(site: TestClient, url: str, **params: str) -> Any:
    query = "&".join(f"{k}={quote(v, safe='')}" for k, v in {"url": url, **params}.items())
    return site.get(f"/oembed?{query}")


def test_oembed_answers_per_the_spec(site: TestClient) -> None:
    page = f"{SITE}/articles/{PAIN}"
    response = _oembed(site, page)
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    answer = response.json()
    assert answer["version"] == "1.0" and answer["type"] == "rich"
    assert answer["provider_name"] == "Health Content"
    assert answer["provider_url"] == f"{SITE}/"
    assert answer["width"] == 480 and answer["height"] == 320
    assert isinstance(answer["cache_age"], int)
    frame = Tags(answer["html"]).find("iframe")[0]
    assert frame["src"] == f"{SITE}/embed/articles/{PAIN}?maxwidth=480"
    assert frame["width"] == "480" and frame["title"] == answer["title"]

    small = _oembed(site, page, maxwidth="300", maxheight="200").json()
    assert (small["width"], small["height"]) == (300, 200)

    xml = _oembed(site, page, format="xml")
    assert xml.headers["content-type"].startswith("text/xml")
    root = ET.fromstring(xml.content)
    assert root.tag == "oembed" and root.findtext("type") == "rich"
    assert root.findtext("html") == answer["html"]

    assert _oembed(site, page, format="yaml").status_code == 501
    assert _oembed(site, f"{SITE}/articles/{DRAFT}").status_code == 404
    assert _oembed(site, f"https://elsewhere.example/articles/{PAIN}").status_code == 404
    assert _oembed(site, f"{SITE}/topics/magnesium").status_code == 404
    assert site.get("/oembed").status_code == 400
    assert _oembed(site, page, maxwidth="-5").status_code == 400


def _feed(site: TestClient, path: str) -> Any:
    response = _ok(site, path)
    assert response.headers["content-type"] == "application/atom+xml; charset=utf-8"
    parsed = feedparser.parse(response.content)
    assert not parsed.bozo, parsed.bozo_exception
    # RFC 4287's required elements: feed id, title, updated, an author (here, the feed's);
    # each entry's id, title, updated; and a self link.
    root = ET.fromstring(response.content)
    for name in ("id", "title", "updated", "author/" + ATOM + "name"):
        assert root.find(ATOM + name) is not None, name
    assert root.find(f"{ATOM}link[@rel='self']") is not None
    for entry in root.findall(ATOM + "entry"):
        for name in ("id", "title", "updated", "link"):
            assert entry.find(ATOM + name) is not None, name
    return parsed, response


def test_feeds_parse_and_carry_what_partners_need(site: TestClient) -> None:
    parsed, response = _feed(site, "/feeds/articles.atom")
    slugs = [entry.link.rsplit("/", 1)[1] for entry in parsed.entries]
    assert DRAFT not in slugs and set(slugs) == {PAIN, STONES, REVIEWED, HOSTILE_SLUG}
    published = [entry.published_parsed for entry in parsed.entries]
    assert published == sorted(published, reverse=True)  # newest first
    reviewed = next(e for e in parsed.entries if e.link.endswith(REVIEWED))
    assert reviewed.summary.startswith("Filed under a subtopic")
    assert [t.term for t in reviewed.tags] == ["fibromyalgia"]
    assert reviewed.author == "Health Content"
    assert reviewed.rights.startswith("CC BY 4.0.")
    license_links = [link.href for link in reviewed.links if link.rel == "license"]
    assert license_links == ["https://creativecommons.org/licenses/by/4.0/"]
    root = ET.fromstring(response.content)
    review = root.find(f"{ATOM}entry/{{urn:healthcontent:review}}reviewed")
    assert review is not None
    assert review.attrib == {
        "by": "Dr. Test Reviewer",
        "on": "2026-01-01",
        "nextDue": "2026-02-01",
    }

    topic, _ = _feed(site, "/feeds/topics/pain.atom")
    topic_slugs = {entry.link.rsplit("/", 1)[1] for entry in topic.entries}
    assert topic_slugs == {PAIN, REVIEWED}  # a subtopic's article too; never the draft
    assert topic.feed.title == "Health Content: Pain"
    expert, _ = _feed(site, "/feeds/experts/linda-rapson.atom")
    assert {entry.link.rsplit("/", 1)[1] for entry in expert.entries} == {PAIN}


def test_feeds_answer_conditional_gets(site: TestClient) -> None:
    response = _ok(site, "/feeds/topics/magnesium.atom")
    etag, modified = response.headers["etag"], response.headers["last-modified"]
    assert (
        site.get("/feeds/topics/magnesium.atom", headers={"if-none-match": etag}).status_code == 304
    )
    assert (
        site.get(
            "/feeds/topics/magnesium.atom", headers={"if-modified-since": modified}
        ).status_code
        == 304
    )
    earlier = email.utils.format_datetime(
        email.utils.parsedate_to_datetime(modified).replace(year=2000), usegmt=True
    )
    assert (
        site.get("/feeds/topics/magnesium.atom", headers={"if-modified-since": earlier}).status_code
        == 200
    )
    assert (
        site.get(
            "/feeds/topics/magnesium.atom", headers={"if-modified-since": "not a date"}
        ).status_code
        == 200
    )


def _sitemap(site: TestClient, path: str) -> ET.Element:
    response = _ok(site, path)
    assert response.headers["content-type"] == "application/xml; charset=utf-8"
    return ET.fromstring(response.content)


def test_sitemap_lists_public_pages_with_lastmod(site: TestClient) -> None:
    root = _sitemap(site, "/sitemap.xml")
    assert root.tag == SITEMAP + "urlset"
    urls = {u.findtext(SITEMAP + "loc"): u.findtext(SITEMAP + "lastmod") for u in root}
    assert f"{SITE}/articles/{PAIN}" in urls and f"{SITE}/topics/pain" in urls
    assert f"{SITE}/experts/linda-rapson" in urls
    assert f"{SITE}/articles/{DRAFT}" not in urls
    stamp = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00")
    assert all(stamp.fullmatch(v or "") for v in urls.values())


def test_sitemap_becomes_an_index_past_its_limit(database_url: str, content_dir: Path) -> None:
    assert load(database_url, write_site_content(content_dir)).ok
    settings = ApiSettings(database_url=database_url, site_url=SITE, sitemap_urls_per_file=2)
    with TestClient(create_app(settings)) as site:
        index = _sitemap(site, "/sitemap.xml")
        assert index.tag == SITEMAP + "sitemapindex"
        parts = [loc.text or "" for loc in index.iter(SITEMAP + "loc")]
        assert parts[:2] == [f"{SITE}/sitemaps/articles-1.xml", f"{SITE}/sitemaps/articles-2.xml"]
        listed = []
        for part in parts:
            root = _sitemap(site, part.removeprefix(SITE))
            assert root.tag == SITEMAP + "urlset" and 1 <= len(root) <= 2
            listed += [loc.text for loc in root.iter(SITEMAP + "loc")]
        assert len(listed) == len(set(listed))
        assert f"{SITE}/articles/{REVIEWED}" in listed and f"{SITE}/topics/pain" in listed
        assert f"{SITE}/articles/{DRAFT}" not in listed


def _edit(site: TestClient, slug: str, patch: dict[str, Any]) -> None:
    key = make_key(site.database_url, f"editor-{uuid.uuid4().hex[:8]}", ["write"])  # type: ignore[attr-defined]
    version = site.post(
        "/graphql", json={"query": f'{{ article(slug: "{slug}") {{ version }} }}'}
    ).json()["data"]["article"]["version"]
    body = site.post(
        "/graphql",
        json={
            "query": "mutation($slug: String!, $v: Int!, $patch: ArticlePatch!) { "
            "updateArticle(slug: $slug, expectedVersion: $v, patch: $patch) "
            "{ errors { message } } }",
            "variables": {"slug": slug, "v": version, "patch": patch},
        },
        headers={"authorization": f"Bearer {key}"},
    ).json()
    assert body["data"]["updateArticle"]["errors"] == [], body


def test_a_feed_that_lost_an_entry_is_modified(site: TestClient) -> None:
    first = _ok(site, "/feeds/topics/magnesium.atom")
    time.sleep(1.1)  # Last-Modified counts whole seconds
    key = make_key(site.database_url, "unpublisher", ["write"])  # type: ignore[attr-defined]
    body = site.post(
        "/graphql",
        json={
            "query": f'mutation {{ unpublishArticle(slug: "{STONES}") {{ errors {{ message }} }} }}'
        },
        headers={"authorization": f"Bearer {key}"},
    ).json()
    assert body["data"]["unpublishArticle"]["errors"] == [], body
    after = site.get(
        "/feeds/topics/magnesium.atom",
        headers={"if-modified-since": first.headers["last-modified"]},
    )
    assert after.status_code == 200 and STONES not in after.text
    assert after.headers["last-modified"] != first.headers["last-modified"]


def test_control_characters_never_break_the_xml(site: TestClient) -> None:
    _edit(site, PAIN, {"title": "Bad\x0btitle\x1b", "summary": "Bell\x07 here"})
    parsed, _ = _feed(site, "/feeds/articles.atom")
    assert "Badtitle" in [entry.title for entry in parsed.entries]
    xml = _oembed(site, f"{SITE}/articles/{PAIN}", format="xml")
    assert ET.fromstring(xml.content).findtext("title") == "Badtitle"
    assert "<h1>Badtitle</h1>" in _ok(site, f"/articles/{PAIN}").text


@pytest.mark.parametrize(
    "path",
    [
        f"/embed/articles/{PAIN}?maxwidth=%C2%B2",
        f"/embed/articles/{PAIN}?maxwidth=%D9%A3%D9%A0%D9%A0",
        f"/oembed?url={quote(f'{SITE}/articles/{PAIN}', safe='')}&maxheight=%C2%B2",
        f"/embed/articles/{PAIN}?maxwidth=0",
    ],
)
def test_odd_numbers_are_refused_by_name(site: TestClient, path: str) -> None:
    response = site.get(path)
    assert response.status_code == 400 and "must be a positive whole number" in response.text


def test_odd_sitemap_part_numbers_are_404(site: TestClient) -> None:
    for number in ("%C2%B2", "0", "01", "9999999"):
        assert site.get(f"/sitemaps/articles-{number}.xml").status_code == 404


@pytest.mark.parametrize(
    "url",
    [
        f"https://HEALTH.example/articles/{PAIN}",
        f"https://health.example:443/articles/{PAIN}",
        f"https://health.example/articles/{PAIN}/",
        f"https://health.example/articles/{PAIN}?utm_source=x#top",
    ],
)
def test_oembed_knows_its_urls_however_spelled(site: TestClient, url: str) -> None:
    response = _oembed(site, url)
    assert response.status_code == 200, response.text
    assert response.json()["title"] == "Magnesium For Chronic Pain: Does it Help?"


@pytest.mark.parametrize(
    "url",
    [
        f"http://health.example/articles/{PAIN}",
        f"https://health.example:8443/articles/{PAIN}",
        f"https://health.example.evil/articles/{PAIN}",
        f"https://health.example/articles/{PAIN}/more",
        f"https://health.example/articles/../articles/{PAIN}",
        f"https://health.example:x/articles/{PAIN}",
    ],
)
def test_oembed_refuses_other_urls(site: TestClient, url: str) -> None:
    assert _oembed(site, url).status_code == 404


def test_not_modified_over_real_http(database_url: str, content_dir: Path) -> None:
    """A 304 (by ETag or by date) carries no body and keeps the connection usable."""
    assert load(database_url, write_site_content(content_dir)).ok
    with running_server(database_url) as base:
        host, port = base.removeprefix("http://").split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=10)
        try:
            connection.request("GET", "/feeds/articles.atom")
            first = connection.getresponse()
            first.read()
            assert first.status == 200
            for header, value in (
                ("if-modified-since", first.getheader("last-modified")),
                ("if-none-match", first.getheader("etag")),
            ):
                connection.request("GET", "/feeds/articles.atom", headers={header: value or ""})
                answer = connection.getresponse()
                assert answer.status == 304 and answer.read() == b""
                assert answer.getheader("content-length") in (None, "0")
                assert answer.getheader("etag") == first.getheader("etag")
            connection.request("GET", "/sitemap.xml")  # the same connection still works
            assert connection.getresponse().status == 200
        finally:
            connection.close()
