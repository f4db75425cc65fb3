"""The sitemap: public pages with their last change, an index of parts past its limit, and
part numbers that name no part are 404."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from starlette.testclient import TestClient

from api.app import create_app
from api.settings import ApiSettings
from tests.api.site.conftest import SITE, ok
from tests.api.site.content import (
    DRAFT,
    PAIN,
    REVIEWED,
    write_site_content,
)
from tests.helpers import load

SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


def _sitemap(site: TestClient, path: str) -> ET.Element:
    response = ok(site, path)
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


def test_odd_sitemap_part_numbers_are_404(site: TestClient) -> None:
    for number in ("%C2%B2", "0", "01", "9999999"):
        assert site.get(f"/sitemaps/articles-{number}.xml").status_code == 404
