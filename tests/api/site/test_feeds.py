"""Atom feeds: valid, carrying what partners need, answering conditional GETs (over real
HTTP too), modified when an entry leaves, and never broken by control characters."""

from __future__ import annotations

import email.utils
import http.client
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import feedparser
from starlette.testclient import TestClient

from tests.api.conftest import Api, running_server
from tests.api.site.conftest import SITE, edit, oembed, ok
from tests.api.site.content import (
    DRAFT,
    HOSTILE_SLUG,
    PAIN,
    REVIEWED,
    STONES,
    write_site_content,
)
from tests.helpers import load, make_key

ATOM = "{http://www.w3.org/2005/Atom}"


def _feed(site: TestClient, path: str) -> Any:
    response = ok(site, path)
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
    response = ok(site, "/feeds/topics/magnesium.atom")
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


def test_a_feed_that_lost_an_entry_is_modified(site: TestClient) -> None:
    first = ok(site, "/feeds/topics/magnesium.atom")
    time.sleep(1.1)  # Last-Modified counts whole seconds
    key = make_key(site.database_url, "unpublisher", ["write"])  # type: ignore[attr-defined]
    body = Api(site, key).data(
        f'mutation {{ unpublishArticle(slug: "{STONES}") {{ errors {{ message }} }} }}'
    )
    assert body["unpublishArticle"]["errors"] == [], body
    after = site.get(
        "/feeds/topics/magnesium.atom",
        headers={"if-modified-since": first.headers["last-modified"]},
    )
    assert after.status_code == 200 and STONES not in after.text
    assert after.headers["last-modified"] != first.headers["last-modified"]


def test_control_characters_never_break_the_xml(site: TestClient) -> None:
    edit(site, PAIN, {"title": "Bad\x0btitle\x1b", "summary": "Bell\x07 here"})
    parsed, _ = _feed(site, "/feeds/articles.atom")
    assert "Badtitle" in [entry.title for entry in parsed.entries]
    xml = oembed(site, f"{SITE}/articles/{PAIN}", format="xml")
    assert ET.fromstring(xml.content).findtext("title") == "Badtitle"
    assert "<h1>Badtitle</h1>" in ok(site, f"/articles/{PAIN}").text


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
