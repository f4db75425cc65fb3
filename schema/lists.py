"""Lists of articles, topics and experts: filtered, searched and ordered, a keyset page at a time.

Published articles only, unless the caller passes other `statuses` (the API does that only for
keys with the preview scope).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from enum import StrEnum
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from schema.lookups import without_text
from schema.pagination import Page, PageError, PageRequest, keyset_page
from schema.search import search as search_articles
from schema.tables import Article, ArticleTopic, Expert, Quote, Topic, TopicKind, UTCDateTime
from schema.visibility import PUBLISHED_ONLY, Statuses, visible


class ArticleOrder(StrEnum):
    NEWEST = "newest"
    OLDEST = "oldest"
    UPDATED = "updated"
    TITLE = "title"
    RELEVANCE = "relevance"  # only with a search


# The kind a list's cursors carry (encode_cursor), when it is not the order's value. TITLE
# once ordered by the title itself: its cursors from then carry "title" and are refused.
_CURSOR_KIND = {ArticleOrder.TITLE: "lower(title)"}


def _order_columns(order: ArticleOrder, statuses: Statuses) -> tuple[list[Any], bool]:
    """(key columns, descending?) for an order; `id` breaks ties so keys are unique. Each
    has an index led by `status` (schema/tables.py), so a page of published articles is read
    in order from it."""
    if order == ArticleOrder.TITLE:
        # Case-insensitive: "Magnesium and" before "Magnesium For". SQLite's lower() folds
        # ASCII letters only, PostgreSQL's every letter its database's locale knows.
        return [func.lower(col(Article.title)), col(Article.id)], False
    if order == ArticleOrder.UPDATED:
        return [col(Article.updated_at), col(Article.id)], True
    date: Any = col(Article.published_at)
    if statuses != PUBLISHED_ONLY:
        # Drafts may have no date yet: they sort by when they were created.
        date = func.coalesce(col(Article.published_at), col(Article.created_at), type_=UTCDateTime)
    return [date, col(Article.id)], order == ArticleOrder.NEWEST


def _cursor_shape(order: ArticleOrder) -> tuple[type, type]:
    return (str, int) if order == ArticleOrder.TITLE else (dt.datetime, int)


def utc_today() -> dt.date:
    """The day (UTC) that review dates are compared with, as `isReviewOverdue` does."""
    return dt.datetime.now(dt.UTC).date()


def _topic_and_descendants(topic_id: int) -> Any:
    """Ids of a topic and every topic under it (recursive CTE)."""
    tree = select(col(Topic.id)).where(col(Topic.id) == topic_id).cte("topic_tree", recursive=True)
    tree = tree.union_all(select(col(Topic.id)).where(col(Topic.parent_id) == tree.c.id))
    return select(tree.c.id)


def article_filter(
    *,
    topic_id: int | None = None,
    expert_id: int | None = None,
    reviewer_id: int | None = None,
    review_overdue: bool | None = None,
    today: dt.date | None = None,
    reviewed_after: dt.date | None = None,
    published_after: dt.datetime | None = None,
    published_before: dt.datetime | None = None,
    updated_after: dt.datetime | None = None,
    statuses: Statuses = PUBLISHED_ONLY,
) -> list[Any]:
    """WHERE clauses for an article list: in `statuses` (published), about a topic (or any
    topic under it), quoting or reviewed by an expert, reviewed by an expert, with its review
    overdue on `today` (UTC, by default now) or not (no due date: not overdue), and within
    date bounds. Every bound is exclusive; an article without the date never passes it."""
    clauses: list[Any] = [visible(statuses)]
    if reviewer_id is not None:
        clauses.append(col(Article.reviewer_id) == reviewer_id)
    if review_overdue is not None:
        day = today or utc_today()
        due = col(Article.next_review_due)
        clauses.append(due < day if review_overdue else or_(due.is_(None), due >= day))
    if reviewed_after is not None:
        clauses.append(col(Article.reviewed_at) > reviewed_after)
    if published_after is not None:
        clauses.append(col(Article.published_at) > published_after)
    if published_before is not None:
        clauses.append(col(Article.published_at) < published_before)
    if updated_after is not None:
        clauses.append(col(Article.updated_at) > updated_after)
    if topic_id is not None:
        clauses.append(
            col(Article.id).in_(
                select(col(ArticleTopic.article_id)).where(
                    col(ArticleTopic.topic_id).in_(_topic_and_descendants(topic_id))
                )
            )
        )
    if expert_id is not None:
        clauses.append(
            or_(
                col(Article.reviewer_id) == expert_id,
                col(Article.id).in_(
                    select(col(Quote.article_id)).where(col(Quote.expert_id) == expert_id)
                ),
            )
        )
    return clauses


async def article_page(
    *,
    session: AsyncSession,
    page: PageRequest,
    order: ArticleOrder = ArticleOrder.NEWEST,
    filters: Sequence[Any] = (),
    search: str | None = None,
    statuses: Statuses = PUBLISHED_ONLY,
) -> Page:
    """One page of articles: filtered (`article_filter`, same `statuses`), searched and
    ordered. In RELEVANCE order, the best of the newest RANK_WINDOW matches (schema/search.py);
    the count is of every match."""
    found = None
    if search is not None:
        found = await search_articles(session, search)
    elif order == ArticleOrder.RELEVANCE:
        raise PageError("orderBy", "RELEVANCE orders search results: give `search` too")
    matching = [*filters, found.matches] if found is not None else list(filters)
    rows_of = select(Article).options(*without_text())
    if order == ArticleOrder.RELEVANCE:
        assert found is not None
        # The ranked window is already the matches that pass the filters.
        scores = found.ranked(filters, _order_columns(ArticleOrder.NEWEST, statuses)[0])
        rows_of = rows_of.join(scores, scores.c.id == col(Article.id))
        columns, descending = [scores.c.score, col(Article.id)], False
        shape: tuple[type, ...] = (float, int)
    else:
        rows_of = rows_of.where(*matching)
        columns, descending = _order_columns(order, statuses)
        shape = _cursor_shape(order)

    return await keyset_page(
        session,
        rows_of=rows_of,
        count_of=select(func.count()).select_from(Article).where(*matching),
        columns=columns,
        descending=descending,
        kind=_CURSOR_KIND.get(order, order.value),
        shape=shape,
        page=page,
    )


async def topic_page(
    *, session: AsyncSession, page: PageRequest, kind: TopicKind | None = None
) -> Page:
    """Topics by name (keyset on name, id)."""
    filters = [col(Topic.kind) == kind] if kind else []
    return await keyset_page(
        session,
        rows_of=select(Topic).where(*filters),
        count_of=select(func.count()).select_from(Topic).where(*filters),
        columns=[col(Topic.name), col(Topic.id)],
        descending=False,
        kind="topic",
        shape=(str, int),
        page=page,
    )


async def expert_page(*, session: AsyncSession, page: PageRequest) -> Page:
    """Experts by name (keyset on name, id)."""
    return await keyset_page(
        session,
        rows_of=select(Expert),
        count_of=select(func.count()).select_from(Expert),
        columns=[col(Expert.name), col(Expert.id)],
        descending=False,
        kind="expert",
        shape=(str, int),
        page=page,
    )
