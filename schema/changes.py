"""The change outbox: what every write appends, in its own transaction, and how to read it.

Ids are handed out in commit order, so a reader following `id > last` never passes over a
change that commits later with a smaller id: every content writer holds the write lock
from its first statement to its commit (`schema.db.open_session(write=True)`: an advisory
lock on PostgreSQL, BEGIN IMMEDIATE on SQLite), so writers never overlap.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Select, bindparam, func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlmodel import col

from schema.pagination import Page, PageRequest, keyset_page
from schema.tables import (
    ArticleStatus,
    Change,
    ChangeAction,
    ChangeEntity,
    core_table,
    utcnow,
)


def tags(entity: ChangeEntity, entity_id: int, listed: bool = True) -> list[str]:
    """The tags a change to this item invalidates: the item, and every list of its kind
    (a change can move an item into, out of, or within any list) unless the item was in
    none before and is in none after (a draft saved again)."""
    item = f"{entity.value}:{entity_id}"
    return [item, f"list:{entity.value}"] if listed else [item]


@dataclass(frozen=True)
class Changed:
    """One item a write changed."""

    entity: ChangeEntity
    entity_id: int
    slug: str
    action: ChangeAction
    version: int | None = None
    # Public before or after (a published article; topics and experts always are): lists of
    # its kind may change, and partners (webhooks, the public feed) hear of it.
    listed: bool = True
    canonical_url: str | None = None  # an article's own canonical URL, if it has one


def article_action(before: ArticleStatus | str | None, after: ArticleStatus | str) -> ChangeAction:
    """What happened to an article whose status went from `before` (None: it is new)."""
    after = ArticleStatus(after)
    if before is not None and ArticleStatus(before) == after:
        return ChangeAction.UPDATED
    if after == ArticleStatus.PUBLISHED:
        return ChangeAction.PUBLISHED
    if after == ArticleStatus.ARCHIVED:
        return ChangeAction.ARCHIVED
    if before is None:
        return ChangeAction.CREATED
    return ChangeAction.UNPUBLISHED


async def record(
    session: AsyncSession, changed: Iterable[Changed], now: dt.datetime | None = None
) -> None:
    """Append `changed` to the outbox, in the caller's writing transaction (one that
    holds the write lock)."""
    now = now or utcnow()
    rows = [
        {
            "entity": c.entity.value,
            "entity_id": c.entity_id,
            "slug": c.slug,
            "action": c.action.value,
            "version": c.version,
            "tags": " ".join(tags(c.entity, c.entity_id, c.listed)),
            "changed_at": now,
            "public": c.listed,
            "canonical_url": c.canonical_url,
        }
        for c in changed
    ]
    if not rows:
        return
    for start in range(0, len(rows), 2000):
        await session.execute(insert(core_table(Change)), rows[start : start + 2000])


@dataclass(frozen=True)
class Entry:
    """A change as a follower reads it."""

    id: int
    tags: tuple[str, ...]


# An id read from the table is never None (SQLModel types the key `int | None` for new rows).
_AFTER = cast(
    Select[int, str],
    select(col(Change.id), col(Change.tags))
    .where(col(Change.id) > bindparam("after"))
    .order_by(col(Change.id))
    .limit(bindparam("limit")),
)
_LAST = select(func.max(col(Change.id)))


async def changes_after(connection: AsyncConnection, after: int, limit: int) -> Sequence[Entry]:
    """The changes with ids above `after`, oldest first, at most `limit`."""
    rows = await connection.execute(_AFTER, {"after": after, "limit": limit})
    return [Entry(id_, tuple(tags_.split())) for id_, tags_ in rows]


async def change_page(session: AsyncSession, *, page: PageRequest, public_only: bool) -> Page:
    """A page of the outbox in commit order (the `changes` feed); `public_only` leaves out
    changes to items that were public neither before nor after (a draft's edits)."""
    rows_of = select(Change)
    count_of = select(func.count()).select_from(Change)
    if public_only:
        rows_of = rows_of.where(col(Change.public))
        count_of = count_of.where(col(Change.public))
    return await keyset_page(
        session,
        rows_of=rows_of,
        count_of=count_of,
        columns=[col(Change.id)],
        descending=False,
        kind="change",
        shape=[int],
        page=page,
    )


async def last_change(connection: AsyncConnection) -> int:
    """The newest change's id (0 when there is none): where a new follower starts."""
    return int((await connection.execute(_LAST)).scalar() or 0)
