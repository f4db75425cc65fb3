"""Full-text search over articles: FTS5 on SQLite, a weighted tsvector on PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import (
    ColumnClause,
    ColumnElement,
    Float,
    Integer,
    String,
    Subquery,
    bindparam,
    column,
    func,
    literal_column,
    select,
    table,
    text,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from schema.pagination import PageError
from schema.tables import Article

_WORD = re.compile(r"\w+")
MAX_SEARCH_WORDS = 16
MAX_SEARCH_CHARS = 200


# Ranking reads each match's whole index entry (its tsvector, or FTS5's bm25 statistics): a
# word in every article would rank them all (901 ms at 100,000 articles). Relevance ranks
# the newest RANK_WINDOW matches instead; `totalCount` still counts every match, and any
# other order pages through them all.
RANK_WINDOW = 200


@dataclass(frozen=True)
class Search:
    """A validated search: which articles match, and how to rank the newest of them."""

    matches: ColumnElement[bool]  # a WHERE clause on `article`
    _dialect: str
    _terms: str  # as the database's query language has it
    _query: Any = None  # PostgreSQL: the parsed tsquery

    def ranked(self, filters: Sequence[Any], newest: Sequence[Any]) -> Subquery:
        """(id, score) of the newest RANK_WINDOW matching articles passing `filters`
        (`newest`: the key columns of that order), lower score = better match."""
        window = (
            select(col(Article.id))
            .where(self.matches, *filters)
            .order_by(*(column.desc() for column in newest))
            .limit(literal_column(str(RANK_WINDOW)))  # literal: see the probe's LIMIT
        )
        if self._dialect == "sqlite":
            index: ColumnClause[Any] = literal_column("article_search")
            return (
                select(
                    _FTS.c.rowid.label("id"),
                    func.bm25(index, 10.0, 4.0, 1.0, type_=Float).label("score"),
                )
                .where(
                    index.op("MATCH")(bindparam("match", self._terms)),
                    # `+ 0`: as a constraint on rowid, FTS5 would run the whole MATCH once per
                    # id in the window (36 ms for 200); this way it runs once (1.5 ms).
                    (_FTS.c.rowid + 0).in_(window),
                )
                .subquery("search")
            )
        return (
            select(
                col(Article.id).label("id"),
                (-func.ts_rank(_VECTOR, self._query, type_=Float)).label("score"),
            )
            .where(col(Article.id).in_(window))
            .subquery("search")
        )


_VECTOR: ColumnClause[Any] = literal_column("article.search_vector")
_FTS = table("article_search", column("rowid", Integer))  # SQLite's FTS5 index


def _parsed(terms: Any) -> Any:
    # Parsed once (a materialized CTE), not once per row, whatever plan PostgreSQL picks.
    cte = (
        select(func.to_tsquery(literal_column("'english'::regconfig"), terms).label("query"))
        .cte("search_query")
        .prefix_with("MATERIALIZED")
    )
    return select(cte.c.query).scalar_subquery()


@cache
def _probe(dense: int) -> Any:
    """How many articles match `:terms`, counting no further than `dense`: its query unknown
    when planning and no order asked, PostgreSQL counts through the GIN index. Built once."""
    matched = _VECTOR.op("@@")(_parsed(bindparam("terms", type_=String)))
    # A literal LIMIT: as a parameter, the generic plan PostgreSQL settles on after five runs
    # could not know the limit is small, and read every article instead.
    limited = select(col(Article.id)).where(matched).limit(literal_column(str(dense)))
    return select(func.count()).select_from(limited.subquery())


# PostgreSQL's planner cannot tell a rare word from a common one when planning, and either
# plan is a disaster for the other kind: walking the newest-first index and testing each
# article's vector took 1,000 ms to find a word in one article of 100,000; collecting every
# match through the GIN index took 660 ms for a word in all of them. A probe (at most this
# many matches, through the GIN index: 2 ms for a rare word, 22 ms for a common one) picks.
DENSE_MATCHES = 1000


async def search(session: AsyncSession, query: str) -> Search:
    """The articles matching `query`.

    User input never reaches a query language raw: it is cut into words (letters and
    digits), every word must match, and the last one matches as a prefix (search as you
    type), the same on both databases. Stemmed (Porter / english); the title weighs more
    than the summary, the summary more than the body.
    """
    if len(query) > MAX_SEARCH_CHARS:
        raise PageError("search", f"at most {MAX_SEARCH_CHARS} characters")
    words = _WORD.findall(query)
    if not words:
        raise PageError("search", "give at least one word to search for")
    if len(words) > MAX_SEARCH_WORDS:
        raise PageError("search", f"at most {MAX_SEARCH_WORDS} words")
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        quoted = [f'"{w}"' for w in words]
        quoted[-1] += "*"
        terms = " ".join(quoted)
        found = text("SELECT rowid FROM article_search WHERE article_search MATCH :match")
        matches = col(Article.id).in_(found.bindparams(match=terms).columns(rowid=Integer))
        return Search(matches, dialect, terms)
    terms = " & ".join([*words[:-1], f"{words[-1]}:*"])  # words are \w+: nothing to escape
    probed = await session.execute(_probe(DENSE_MATCHES), {"terms": terms})
    parsed = _parsed(terms)
    matched = _VECTOR.op("@@")(parsed)
    if probed.scalar_one() >= DENSE_MATCHES:
        return Search(matched, dialect, terms, parsed)
    # Few matches: collect them through the index first, then order and filter those.
    ids = select(col(Article.id)).where(matched).cte("search_matches").prefix_with("MATERIALIZED")
    return Search(col(Article.id).in_(select(ids.c.id)), dialect, terms, parsed)
