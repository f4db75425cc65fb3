"""The 100,000-article cases on PostgreSQL: a large database built by SQL copies, then timings.

1,000 synthetic articles go through the loader; every other article is an SQL copy of one of
them (new id, slug, date and title; same body, topics, quote and references), so building
the database takes minutes, not the loader's hours. Each title carries a number no other
article has: searching for it is the rare-word case. Every body holds "magnesium": that is the
every-article case. Then VACUUM (ANALYZE), as the loader runs after any large load.

Timed at `schema/` (the statements and their rows, no GraphQL, no HTTP), median of
`--repeat` calls each after a warm-up:

- page 1 of the newest-first list, without and with `totalCount`;
- a cursor page deep in the list (90% down it), against page 1;
- a search for a word in every article, and for a word in one, ranked by relevance and
  newest first, each with its exact count.

    .venv/bin/python bench/api_load.py --scale 100000 [--repeat 30]
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bench.databases import fresh_database
from schema.db import create_engine, open_session, refresh_statistics
from schema.lists import ArticleOrder, article_filter, article_page
from schema.migrate import upgrade
from schema.pagination import PageRequest, encode_cursor
from seed_data.synthetic import write_content

BASE = 1000

# Copies of the loaded articles: copy k of article n gets slug "article-n-copy-k", a date k
# days earlier, and a title whose number (k * 1,000,000 + id) no other article has.
_COPIES = [
    """INSERT INTO article (slug, title, summary, status, published_at, canonical_url,
        hero_image_url, hero_image_alt, hero_image_credit, seo_title, seo_description,
        disclaimer, version, created_at, updated_at, body_markdown, body_html, body_text,
        word_count, reading_time_minutes, sections, reviewer_id, reviewed_at,
        next_review_due, content_hash)
    SELECT a.slug || '-copy-' || k, 'Synthetic article ' || (k * 1000000 + a.id), a.summary,
        a.status, a.published_at - k * interval '1 day', a.canonical_url, a.hero_image_url,
        a.hero_image_alt, a.hero_image_credit, a.seo_title, a.seo_description, a.disclaimer,
        a.version, a.created_at, a.updated_at, a.body_markdown, a.body_html, a.body_text,
        a.word_count, a.reading_time_minutes, a.sections, a.reviewer_id, a.reviewed_at,
        a.next_review_due, a.content_hash
    FROM article a CROSS JOIN generate_series(1, :copies) AS k
    WHERE a.slug LIKE 'article-%' AND a.slug NOT LIKE '%-copy-%'""",
    """CREATE TEMPORARY TABLE copy_of AS
    SELECT c.id AS id, a.id AS original FROM article c
    JOIN article a ON a.slug = substring(c.slug from '^(.*)-copy-[0-9]+$')""",
    """INSERT INTO article_topic (article_id, topic_id, position, is_primary)
    SELECT m.id, t.topic_id, t.position, t.is_primary
    FROM copy_of m JOIN article_topic t ON t.article_id = m.original""",
    """INSERT INTO quote (article_id, expert_id, section_anchor, text, context, position)
    SELECT m.id, q.expert_id, q.section_anchor, q.text, q.context, q.position
    FROM copy_of m JOIN quote q ON q.article_id = m.original""",
    """INSERT INTO reference (article_id, position, key, title, url, doi, pubmed_id, year,
        publisher)
    SELECT m.id, r.position, r.key, r.title, r.url, r.doi, r.pubmed_id, r.year, r.publisher
    FROM copy_of m JOIN reference r ON r.article_id = m.original""",
]


async def _build(url: str, total: int, workdir: Path) -> None:
    from bench.api_load import _load  # the loader, as the other benches use it

    await _load(url, write_content(workdir / "content", BASE))
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            for statement in _COPIES:
                await connection.execute(text(statement), {"copies": total // BASE - 1})
        await refresh_statistics(engine)
    finally:
        await engine.dispose()


async def _median_ms(call: Callable[[], Awaitable[Any]], repeat: int) -> float:
    await call()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - start) * 1000)
    return round(statistics.median(samples), 2)


async def _cases(url: str, repeat: int) -> dict[str, Any]:
    engine = create_engine(url)
    out: dict[str, Any] = {}
    try:
        async with open_session(engine) as session:
            count = (await session.execute(text("SELECT count(*) FROM article"))).scalar_one()
            out["articles"] = count
            rare = (
                await session.execute(
                    text("SELECT title FROM article WHERE slug LIKE :slug LIMIT 1"),
                    {"slug": f"%-copy-{count // BASE // 2}"},
                )
            ).scalar_one()
            rare_word = rare.rsplit(" ", 1)[1]

            def page(**kwargs: Any) -> Callable[[], Awaitable[Any]]:
                request = PageRequest(
                    first=20, after=kwargs.pop("after", None), count=kwargs.pop("count")
                )
                return lambda: article_page(
                    session=session, page=request, filters=article_filter(), **kwargs
                )

            first = await page(count=False)()
            out["page1_ms"] = await _median_ms(page(count=False), repeat)
            out["page1_total_ms"] = await _median_ms(page(count=True), repeat)
            # The cursor of the article 90% down the list: reaching it a page at a time
            # would take long; ask the database for its key directly.
            deep = (
                await session.execute(
                    text(
                        "SELECT published_at, id FROM article WHERE status = 'published' "
                        "ORDER BY published_at DESC, id DESC OFFSET :deep LIMIT 1"
                    ),
                    {"deep": count * 9 // 10},
                )
            ).one()
            cursor = encode_cursor(ArticleOrder.NEWEST.value, [deep[0], deep[1]])
            assert first.rows, "no articles"
            out["deep_page_ms"] = await _median_ms(page(count=False, after=cursor), repeat)
            for label, word in (("common", "magnesium"), ("rare", rare_word)):
                for order in (ArticleOrder.RELEVANCE, ArticleOrder.NEWEST):
                    name = f"search_{label}_{order.value}"
                    found = await page(count=True, search=word, order=order)()
                    out[f"{name}_total"] = found.total
                    out[f"{name}_ms"] = await _median_ms(
                        page(count=True, search=word, order=order), repeat
                    )
            out["rare_word"] = rare_word
    finally:
        await engine.dispose()
    return out


def run(total: int, repeat: int, workdir: Path) -> dict[str, Any]:
    with fresh_database("postgresql", workdir) as url:
        upgrade(url)
        start = time.perf_counter()
        asyncio.run(_build(url, total, workdir))
        built = round(time.perf_counter() - start, 1)
        result = asyncio.run(_cases(url, repeat))
        result["build_s"] = built
        result["deep_over_page1"] = round(result["deep_page_ms"] / result["page1_ms"], 2)
        return result
