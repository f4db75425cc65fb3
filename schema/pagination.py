"""Keyset pagination (never OFFSET): page requests, pages, and the opaque cursors between them.

A cursor carries the key values of the row it points at and the order of its list, so a
cursor from one list (or a forged one) is refused with an error that names the argument.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

DEFAULT_PAGE = 20
MAX_PAGE = 100


class PageError(ValueError):
    """A page request that cannot be served; the message names the argument."""

    def __init__(self, argument: str, message: str) -> None:
        super().__init__(f"{argument}: {message}")
        self.argument = argument


@dataclass(frozen=True)
class PageRequest:
    """Relay-style arguments, validated: forward (first/after) or backward (last/before)."""

    first: int | None = None
    after: str | None = None
    last: int | None = None
    before: str | None = None
    # Whether to count the whole list: a scan at scale, so only when it is asked for.
    count: bool = True

    def limit(self) -> tuple[int, bool]:
        """(page size, backward?)"""
        if self.first is not None and self.last is not None:
            raise PageError("last", "give `first` or `last`, not both")
        for name, value in (("first", self.first), ("last", self.last)):
            if value is not None and value < 0:
                raise PageError(name, "must not be negative")
            if value is not None and value > MAX_PAGE:
                raise PageError(name, f"at most {MAX_PAGE} items a page (asked for {value})")
        if self.last is not None:
            return self.last, True
        return (self.first if self.first is not None else DEFAULT_PAGE), False


@dataclass(frozen=True)
class Page:
    rows: list[Any]
    cursors: list[str]
    has_next: bool
    has_previous: bool
    total: int | None


def encode_cursor(kind: str, values: Sequence[Any]) -> str:
    payload = [kind, *(v.isoformat() if isinstance(v, dt.datetime) else v for v in values)]
    return base64.urlsafe_b64encode(orjson.dumps(payload)).decode()


def decode_cursor(cursor: str, kind: str, argument: str, shape: Sequence[type]) -> list[Any]:
    """The key values in a cursor for a list ordered by `kind`; PageError unless they are
    exactly of `shape` (a forged cursor must never reach SQL)."""
    try:
        payload = orjson.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (binascii.Error, orjson.JSONDecodeError, ValueError):
        raise PageError(argument, "is not a cursor this API gave out") from None
    if not isinstance(payload, list) or not payload or payload[0] != kind:
        raise PageError(argument, f"is not a cursor for this list (ordered by {kind})")
    values = payload[1:]
    if len(values) != len(shape):
        raise PageError(argument, "is not a cursor this API gave out")
    out: list[Any] = []
    for value, wanted in zip(values, shape, strict=True):
        try:
            if wanted is dt.datetime:
                parsed = dt.datetime.fromisoformat(value)
                if parsed.tzinfo is None:
                    raise ValueError
                out.append(parsed)
            elif wanted is float:
                if type(value) not in (int, float):
                    raise ValueError
                out.append(float(value))
            elif wanted is int:
                if type(value) is not int or not 0 <= value <= 2**31 - 1:
                    raise ValueError
                out.append(value)
            elif not isinstance(value, wanted):
                raise ValueError
            else:
                out.append(value)
        except (TypeError, ValueError):
            raise PageError(argument, "is not a cursor this API gave out") from None
    return out


async def keyset_page(
    session: AsyncSession,
    *,
    rows_of: Select[Any],
    count_of: Select[Any],
    columns: Sequence[Any],
    descending: bool,
    kind: str,
    shape: Sequence[type],
    page: PageRequest,
) -> Page:
    """One page of `rows_of` by keyset on `columns` (never OFFSET), with the total (from
    `count_of`) in the same statement when `page.count` asks for it. Cursors carry the key
    values and the list's `kind`."""
    size, backward = page.limit()
    statement = rows_of.add_columns(*columns)
    if page.count:
        statement = statement.add_columns(count_of.scalar_subquery().label("total"))
    key = tuple_(*columns)
    for argument, cursor in (("after", page.after), ("before", page.before)):
        if cursor is None:
            continue
        decoded = decode_cursor(cursor, kind, argument, shape)
        values = tuple_(*decoded)
        # "after" means later in list order; list order runs down the key when descending.
        # The first column's own bound adds nothing to the row comparison, but SQLite seeks
        # an index by a row value only on plain columns: for lower(title) it needs this one.
        if (argument == "after") == descending:
            statement = statement.where(key < values, columns[0] <= decoded[0])
        else:
            statement = statement.where(key > values, columns[0] >= decoded[0])
    # Backward pages are read in reverse order from `before`, then put back in order.
    reverse = descending != backward
    statement = statement.order_by(*(c.desc() if reverse else c.asc() for c in columns))
    rows = (await session.execute(statement.limit(size + 1))).all()
    count = None
    if page.count:
        count = rows[0][-1] if rows else (await session.execute(count_of)).scalar_one()
    kept = list(rows[:size])
    if backward:
        kept.reverse()
    width = len(columns)
    return Page(
        rows=[row[0] for row in kept],
        cursors=[encode_cursor(kind, list(row[1 : 1 + width])) for row in kept],
        has_next=len(rows) > size if not backward else page.before is not None,
        has_previous=len(rows) > size if backward else page.after is not None,
        total=count,
    )
