"""What a sitemap lists: every public page, with when it last changed.

Published articles whose canonical page is elsewhere are left out (a sitemap lists canonical
URLs only); every topic and expert has a page.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from schema.tables import Article, ArticleStatus, Expert, Topic

KINDS = ("Article", "Topic", "Expert")


@dataclass(frozen=True)
class Listed:
    """One page a sitemap lists."""

    typename: str
    slug: str
    lastmod: dt.datetime


def _listed(typename: str) -> Any:
    if typename == "Article":
        return select(col(Article.slug), col(Article.updated_at)).where(
            col(Article.status) == ArticleStatus.PUBLISHED,
            col(Article.canonical_url).is_(None),
        )
    table: Any = Topic if typename == "Topic" else Expert
    return select(table.slug, table.updated_at)


# Built once: SQLAlchemy would build them, and their cache keys, on every call.
_PAGES = {
    kind: _listed(kind)
    .order_by(_listed(kind).selected_columns[0])
    .limit(bindparam("limit"))
    .offset(bindparam("offset"))
    for kind in KINDS
}
_COUNTS = {kind: select(func.count()).select_from(_listed(kind).subquery()) for kind in KINDS}


async def counts(session: AsyncSession) -> dict[str, int]:
    """How many pages of each kind a sitemap lists."""
    return {kind: int((await session.execute(_COUNTS[kind])).scalar() or 0) for kind in KINDS}


async def listed(
    session: AsyncSession, typename: str, *, offset: int, limit: int
) -> Sequence[Listed]:
    """A run of one kind's pages, by slug."""
    rows = await session.execute(_PAGES[typename], {"offset": offset, "limit": limit})
    return [Listed(typename, slug, updated_at) for slug, updated_at in rows]
