"""The site in a real browser: Debian's Chromium, driven by playwright, against a real server.

Checked: the article page renders its sections and the quote; its JSON-LD parses, even with
a hostile title, and nothing in the page runs; a page on another origin frames the embed card;
oEmbed discovery, followed from that other origin, leads to JSON whose `html` renders the
card; the feeds and the sitemap load; and no page logs a console error. Without Chromium the
tests are skipped locally and fail under CI=true (`.ci/run` installs it).
"""

from __future__ import annotations

import asyncio
import http.server
import os
import shutil
import threading
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import running_server
from tests.api.site.content import HOSTILE_SLUG, HOSTILE_TITLE, PAIN, write_site_content
from tests.conftest import unavailable
from tests.helpers import load

CHROMIUM = os.environ.get("CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")


def _chromium() -> str:
    if not Path(CHROMIUM).exists():
        unavailable(f"no Chromium at {CHROMIUM} (apt-get install chromium; .ci/run does)")
    return CHROMIUM


@pytest.fixture
def server(database_url: str, content_dir: Path) -> Iterator[str]:
    assert load(database_url, write_site_content(content_dir, hostile=True)).ok
    with running_server(database_url) as base:
        yield base


class Watched:
    """A fresh page that records what would be a user-visible failure."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.problems: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        page.on("dialog", self._dialog)
        page.on("requestfailed", lambda r: self.problems.append(f"request failed: {r.url}"))

    def _console(self, message: Any) -> None:
        if message.type == "error":
            self.problems.append(f"console error: {message.text}")

    async def _dialog(self, dialog: Any) -> None:
        self.problems.append(f"dialog: {dialog.message}")
        await dialog.dismiss()


def in_browser(scenario: Callable[[Watched], Awaitable[None]]) -> None:
    """Run `scenario` on a fresh page of a fresh headless Chromium."""
    chromium = _chromium()

    async def run() -> None:
        from playwright.async_api import async_playwright

        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=chromium, args=["--no-sandbox"]
            )
            try:
                await scenario(Watched(await browser.new_page()))
            finally:
                await browser.close()

    asyncio.run(run())


@pytest.fixture
def other_origin() -> Iterator[str]:
    """A partner's site: another origin (localhost, another port) serving one blank page."""

    class Blank(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = (
                b"<!doctype html><title>Partner</title><link rel=icon href='data:,'><main></main>"
            )
            self.send_response(200)
            self.send_header("content-type", "text/html")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    partner = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Blank)
    thread = threading.Thread(target=partner.serve_forever, daemon=True)
    thread.start()
    yield f"http://localhost:{partner.server_address[1]}"
    partner.shutdown()
    partner.server_close()


def test_article_page_renders_sections_and_quote(server: str) -> None:
    async def scenario(watched: Watched) -> None:
        page = watched.page
        response = await page.goto(f"{server}/articles/{PAIN}")
        assert response is not None and response.ok
        assert await page.locator("h1").inner_text() == (
            "Magnesium For Chronic Pain: Does it Help?"
        )
        headings = await page.locator("section h2").all_inner_texts()
        assert "Magnesium downgrades pain in the brain" in headings
        quote = page.locator("figure.quote blockquote").first
        assert await quote.is_visible()
        assert await quote.inner_text() == (
            "Virtually all of them improve when I put them on magnesium."
        )
        assert await page.locator("figure.quote cite").first.inner_text() == "Dr. Linda Rapson"
        # The table of contents takes the reader to the section.
        await page.locator("nav.toc a").first.click()
        assert page.url.endswith("#magnesium-downgrades-pain-in-the-brain")
        # The stylesheet applied (no CSP refusal): the quote is set in italics.
        assert await quote.evaluate("e => getComputedStyle(e).fontStyle") == "italic"
        assert watched.problems == []

    in_browser(scenario)


def test_json_ld_parses_with_a_hostile_title(server: str) -> None:
    async def scenario(watched: Watched) -> None:
        page = watched.page
        response = await page.goto(f"{server}/articles/{HOSTILE_SLUG}")
        assert response is not None and response.ok
        data = await page.evaluate(
            "() => [...document.querySelectorAll('script')].map(s => [s.type, JSON.parse(s.text)])"
        )
        assert len(data) == 1 and data[0][0] == "application/ld+json"
        assert data[0][1]["headline"] == HOSTILE_TITLE
        assert await page.locator("h1").inner_text() == HOSTILE_TITLE
        assert (await page.title()).startswith(HOSTILE_TITLE)
        assert watched.problems == []  # no alert(), no script error

    in_browser(scenario)


def test_partner_frames_the_card_found_by_oembed_discovery(server: str, other_origin: str) -> None:
    async def scenario(watched: Watched) -> None:
        page = watched.page
        await page.goto(f"{server}/articles/{PAIN}")
        link = page.locator('link[type="application/json+oembed"]')
        discovery = await link.get_attribute("href")
        assert discovery is not None

        # On the partner's own page (another origin), as an oEmbed consumer there would.
        await page.goto(other_origin)
        answer = await page.evaluate(
            """async (url) => {
                const answer = await (await fetch(url)).json();
                document.querySelector('main').innerHTML = answer.html;
                return answer;
            }""",
            discovery,
        )
        assert answer["type"] == "rich"
        frame = page.frame_locator("iframe")
        title = frame.locator("h1 a")
        await title.wait_for()
        assert await title.inner_text() == "Magnesium For Chronic Pain: Does it Help?"
        assert await frame.locator(".badge").inner_text() == "Not medically reviewed"
        assert "Source:" in await frame.locator(".attribution").inner_text()
        box = await page.locator("iframe").bounding_box()
        assert box is not None and box["width"] == answer["width"]
        assert watched.problems == []

    in_browser(scenario)


def test_feeds_sitemap_and_other_pages_load(server: str) -> None:
    async def scenario(watched: Watched) -> None:
        page = watched.page
        for path, kind in (
            ("/feeds/articles.atom", "application/atom+xml"),
            ("/feeds/topics/pain.atom", "application/atom+xml"),
            ("/sitemap.xml", "application/xml"),
        ):
            response = await page.goto(server + path)
            assert response is not None and response.ok, path
            assert response.headers["content-type"].startswith(kind)
            assert server in await page.content()
        for path in ("/topics/pain", "/experts/linda-rapson"):
            response = await page.goto(server + path)
            assert response is not None and response.ok
            assert await page.locator("h1").is_visible()
        assert watched.problems == []

    in_browser(scenario)
