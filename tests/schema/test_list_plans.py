"""Every article-list order reads its page from an index, in order, starting at the cursor:
no sort, on either database, however deep the page."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest
from sqlalchemy import event

from schema import lists
from schema.db import create_engine, open_session
from schema.lists import ArticleOrder
from schema.pagination import PageRequest, encode_cursor

WHEN = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
# order: (its cursor's key, the index its pages are read from)
ORDERS = {
    ArticleOrder.TITLE: (
        ["lower(title)", "magnesium and sleep", 7],
        "ix_article_status_lower_title_id",
    ),
    ArticleOrder.UPDATED: (["updated", WHEN, 7], "ix_article_status_updated_at_id"),
    ArticleOrder.NEWEST: (["newest", WHEN, 7], "ix_article_status_published_at_id"),
    ArticleOrder.OLDEST: (["oldest", WHEN, 7], "ix_article_status_published_at_id"),
}


def _plan(url: str, order: ArticleOrder, cursor: str) -> str:
    """The database's plan for the page statement `article_page` runs."""

    async def go() -> str:
        engine = create_engine(url)
        statements: list[tuple[str, Any]] = []

        def grab(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
            statements.append((statement, parameters))

        try:
            async with open_session(engine) as session:
                event.listen(engine.sync_engine, "before_cursor_execute", grab)
                page = PageRequest(first=20, after=cursor, count=False)
                filters = lists.article_filter()
                await lists.article_page(session=session, page=page, order=order, filters=filters)
                event.remove(engine.sync_engine, "before_cursor_execute", grab)
                statement, parameters = statements[0]
                connection = await session.connection()
                if engine.dialect.name == "sqlite":
                    rows = await connection.exec_driver_sql(
                        f"EXPLAIN QUERY PLAN {statement}", parameters
                    )
                    return "\n".join(str(row[3]) for row in rows)
                # An empty table is read faster without an index: ask whether one can serve.
                await connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
                await connection.exec_driver_sql("SET LOCAL enable_sort = off")
                rows = await connection.exec_driver_sql(f"EXPLAIN {statement}", parameters)
                return "\n".join(str(row[0]) for row in rows)
        finally:
            await engine.dispose()

    return asyncio.run(go())


@pytest.mark.parametrize("order", list(ORDERS))
def test_each_order_reads_its_pages_from_an_index_from_the_cursor_on(
    database_url: str, order: ArticleOrder
) -> None:
    (kind, *key), index = ORDERS[order]

    plan = _plan(database_url, order, encode_cursor(kind, key))

    assert index in plan, plan
    if database_url.startswith("sqlite"):
        assert "TEMP B-TREE" not in plan, plan
        # The cursor's key bounds the index search (not only the rows it returns).
        assert "status=? AND " in plan, plan
    else:
        assert "Sort" not in plan, plan
        assert "Index Cond: " in plan and "ROW(" in plan, plan
