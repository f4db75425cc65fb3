"""Read content: lookups by key in batches (for per-request loaders) and keyset-paginated lists.

Published articles only, unless the caller passes other `statuses` (the API does that only for
keys with the preview scope). Every function returns rows in one statement, whatever the
number of keys.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from typing import Any, NamedTuple

import orjson
from sqlalchemy import (
    ColumnElement,
    Float,
    Integer,
    Select,
    and_,
    bindparam,
    func,
    literal,
    literal_column,
    null,
    or_,
    select,
    text,
    tuple_,
    union_all,
)
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer

from schema.tables import (
    Article,
    ArticleRevision,
    ArticleStatus,
    ArticleTopic,
    Expert,
    Quote,
    Reference,
    RelatedLink,
    Topic,
    TopicKind,
    UTCDateTime,
)

DEFAULT_PAGE = 20
MAX_PAGE = 100


class ArticleOrder(StrEnum):
    NEWEST = "newest"
    OLDEST = "oldest"
    TITLE = "title"
    RELEVANCE = "relevance"  # only with a search


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


PUBLISHED_ONLY = frozenset({ArticleStatus.PUBLISHED})
Statuses = frozenset[ArticleStatus]


def _published() -> ColumnElement[bool]:
    return Article.status == ArticleStatus.PUBLISHED


def _visible(statuses: Statuses) -> ColumnElement[bool]:
    if statuses == PUBLISHED_ONLY:
        return _published()
    return Article.status.in_(sorted(statuses))


def _order_columns(order: ArticleOrder, statuses: Statuses) -> tuple[list[Any], bool]:
    """(key columns, descending?) for an order; `id` breaks ties so keys are unique."""
    if order == ArticleOrder.TITLE:
        return [Article.title, Article.id], False
    date: Any = Article.published_at
    if statuses != PUBLISHED_ONLY:
        # Drafts may have no date yet: they sort by when they were created.
        date = func.coalesce(Article.published_at, Article.created_at, type_=UTCDateTime)
    return [date, Article.id], order == ArticleOrder.NEWEST


def _cursor_shape(order: ArticleOrder) -> tuple[type, type]:
    return (str, int) if order == ArticleOrder.TITLE else (dt.datetime, int)


_WORD = re.compile(r"\w+")
MAX_SEARCH_WORDS = 16
MAX_SEARCH_CHARS = 200


def search_scores(dialect: str, query: str) -> Any:
    """(id, score) of articles matching `query`, lower score = better match.

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
    if dialect == "sqlite":
        quoted = [f'"{w}"' for w in words]
        quoted[-1] += "*"
        return (
            text(
                "SELECT rowid AS id, bm25(article_search, 10.0, 4.0, 1.0) AS score "
                "FROM article_search WHERE article_search MATCH :match"
            )
            .bindparams(match=" ".join(quoted))
            .columns(id=Integer, score=Float)
            .subquery("search")
        )
    terms = " & ".join([*words[:-1], f"{words[-1]}:*"])  # words are \w+: nothing to escape
    # Parsed once (a materialized CTE), not once per row, whatever plan PostgreSQL picks.
    parsed = (
        select(func.to_tsquery(literal_column("'english'::regconfig"), terms).label("query"))
        .cte("search_query")
        .prefix_with("MATERIALIZED")
    )
    vector = literal_column("article.search_vector")
    return (
        select(Article.id.label("id"), (-func.ts_rank(vector, parsed.c.query)).label("score"))
        .select_from(Article.__table__.join(parsed, literal_column("true")))
        .where(vector.op("@@")(parsed.c.query))
        .subquery("search")
    )


def _topic_and_descendants(topic_id: int) -> Any:
    """Ids of a topic and every topic under it (recursive CTE)."""
    tree = select(Topic.id).where(Topic.id == topic_id).cte("topic_tree", recursive=True)
    tree = tree.union_all(select(Topic.id).where(Topic.parent_id == tree.c.id))
    return select(tree.c.id)


def article_filter(
    *,
    topic_id: int | None = None,
    expert_id: int | None = None,
    statuses: Statuses = PUBLISHED_ONLY,
) -> list[Any]:
    """WHERE clauses for an article list: in `statuses` (published), about a topic (or any
    topic under it), quoting or reviewed by an expert."""
    clauses: list[Any] = [_visible(statuses)]
    if topic_id is not None:
        clauses.append(
            Article.id.in_(
                select(ArticleTopic.article_id).where(
                    ArticleTopic.topic_id.in_(_topic_and_descendants(topic_id))
                )
            )
        )
    if expert_id is not None:
        clauses.append(
            or_(
                Article.reviewer_id == expert_id,
                Article.id.in_(select(Quote.article_id).where(Quote.expert_id == expert_id)),
            )
        )
    return clauses


async def _keyset_page(
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
        values = tuple_(*decode_cursor(cursor, kind, argument, shape))
        # "after" means later in list order; list order runs down the key when descending.
        after = argument == "after"
        statement = statement.where(key < values if after == descending else key > values)
    # Backward pages are read in reverse order from `before`, then put back in order.
    reverse = descending != backward
    statement = statement.order_by(*(c.desc() if reverse else c.asc() for c in columns))
    rows = (await session.execute(statement.limit(size + 1))).all()
    count = None
    if page.count:
        count = rows[0][-1] if rows else (await session.execute(count_of)).scalar_one()
    kept = rows[:size]
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


async def article_page(
    *,
    session: AsyncSession,
    page: PageRequest,
    order: ArticleOrder = ArticleOrder.NEWEST,
    filters: Sequence[Any] = (),
    search: str | None = None,
    statuses: Statuses = PUBLISHED_ONLY,
) -> Page:
    """One page of articles: filtered (`article_filter`, same `statuses`), searched (ranked)
    and ordered."""
    scores = None
    if search is not None:
        scores = search_scores(session.get_bind().dialect.name, search)
    elif order == ArticleOrder.RELEVANCE:
        raise PageError("orderBy", "RELEVANCE orders search results: give `search` too")
    if order == ArticleOrder.RELEVANCE:
        assert scores is not None
        columns, descending = [scores.c.score, Article.id], False
        shape: tuple[type, ...] = (float, int)
    else:
        columns, descending = _order_columns(order, statuses)
        shape = _cursor_shape(order)

    def matching(statement: Any) -> Any:
        if scores is not None:
            statement = statement.join(scores, scores.c.id == Article.id)
        return statement.where(*filters)

    return await _keyset_page(
        session,
        rows_of=matching(select(Article).options(*_without_text())),
        count_of=matching(select(func.count()).select_from(Article)),
        columns=columns,
        descending=descending,
        kind=order.value,
        shape=shape,
        page=page,
    )


async def articles_by(
    *,
    session: AsyncSession,
    column: str,
    keys: Sequence[Any],
    statuses: Statuses = PUBLISHED_ONLY,
) -> dict[Any, Article]:
    """Articles in `statuses` (published) whose `column` (id or slug) is in keys. By slug an
    article is a page, read whole; by id it is a reference (a related post, a node), read
    without its text (`article_texts` reads that if asked)."""
    rows = await session.execute(_articles_statement(column, statuses), {"keys": list(keys)})
    return {getattr(a, column): a for a in rows.scalars()}


# Statements built once, with their keys bound per call: building one (coercing every
# clause, then its cache key) took longer than running it.


@cache
def _articles_statement(column: str, statuses: Statuses) -> Any:
    attribute = getattr(Article, column)
    keys = bindparam("keys", expanding=True)
    statement = select(Article).where(_visible(statuses), attribute.in_(keys))
    return statement.options(*_without_text()) if column == "id" else statement


@cache
def _topics_statement() -> Any:
    return (
        select(ArticleTopic.article_id, ArticleTopic.is_primary, Topic)
        .join(Topic, Topic.id == ArticleTopic.topic_id)
        .where(ArticleTopic.article_id.in_(bindparam("ids", expanding=True)))
        .order_by(ArticleTopic.article_id, ArticleTopic.position)
    )


@cache
def _quotes_statement() -> Any:
    return (
        select(Quote, Expert)
        .join(Expert, Expert.id == Quote.expert_id)
        .where(Quote.article_id.in_(bindparam("ids", expanding=True)))
        .order_by(Quote.article_id, Quote.position)
    )


@cache
def _references_statement() -> Any:
    return (
        select(Reference)
        .where(Reference.article_id.in_(bindparam("ids", expanding=True)))
        .order_by(Reference.article_id, Reference.position)
    )


class ArticleText(NamedTuple):
    """An article's body in its three forms and its sections: most of its bytes."""

    body_markdown: str
    body_html: str
    body_text: str
    sections: list[dict[str, Any]]


_TEXT = (Article.body_markdown, Article.body_html, Article.body_text, Article.sections)


def _without_text() -> list[Any]:
    # About 20 KB an article, and a JSON document to decode per row, that lists and cards
    # never show. Reading one by mistake raises instead of querying behind our back.
    return [defer(column, raiseload=True) for column in _TEXT]


def has_text(article: Article) -> bool:
    """Whether `article` was read with its text (else `article_texts` has it)."""
    return not sa_inspect(article).unloaded.intersection(column.key for column in _TEXT)


async def article_texts(*, session: AsyncSession, ids: Sequence[int]) -> dict[int, ArticleText]:
    """The text of each article in `ids` (whatever its status: its row was already allowed)."""
    rows = await session.execute(select(Article.id, *_TEXT).where(Article.id.in_(ids)))
    return {row[0]: ArticleText(*row[1:]) for row in rows}


async def rows_by(
    *, session: AsyncSession, table: type[Any], column: str, keys: Sequence[Any]
) -> dict[Any, Any]:
    """Topics or experts whose `column` (id or slug) is in keys."""
    attribute = getattr(table, column)
    rows = await session.execute(select(table).where(attribute.in_(keys)))
    return {getattr(r, column): r for r in rows.scalars()}


async def topics_of_articles(
    *, session: AsyncSession, article_ids: Sequence[int]
) -> dict[int, list[tuple[Topic, bool]]]:
    """Each article's topics in editorial order, with whether each is the primary one."""
    rows = await session.execute(_topics_statement(), {"ids": list(article_ids)})
    out: dict[int, list[tuple[Topic, bool]]] = defaultdict(list)
    for article_id, primary, topic in rows:
        out[article_id].append((topic, primary))
    return out


async def quotes_of_articles(
    *, session: AsyncSession, article_ids: Sequence[int]
) -> dict[int, list[tuple[Quote, Expert]]]:
    """Each article's quotes in order, each with its expert (one statement)."""
    rows = await session.execute(_quotes_statement(), {"ids": list(article_ids)})
    out: dict[int, list[tuple[Quote, Expert]]] = defaultdict(list)
    for quote, expert in rows:
        out[quote.article_id].append((quote, expert))
    return out


async def references_of_articles(
    *, session: AsyncSession, article_ids: Sequence[int]
) -> dict[int, list[Reference]]:
    rows = await session.execute(_references_statement(), {"ids": list(article_ids)})
    out: dict[int, list[Reference]] = defaultdict(list)
    for reference in rows.scalars():
        out[reference.article_id].append(reference)
    return out


@dataclass(frozen=True)
class RelatedCandidates:
    """An article's curated links (in order) and, after them, the ids of other published
    articles ranked by topics shared with it."""

    links: list[Any]  # rows: link_id, target_id, url, title, label, excerpt
    ranked_ids: list[int]


@cache
def _related_statement() -> Any:
    """Built once (with its aliases and window): building it took longer than running it."""
    ids = bindparam("ids", expanding=True)
    mine = ArticleTopic.__table__.alias("mine")
    other = ArticleTopic.__table__.alias("other")
    ranked = (
        select(
            mine.c.article_id.label("source_id"),
            other.c.article_id.label("candidate_id"),
            func.row_number()
            .over(
                partition_by=mine.c.article_id,
                order_by=(func.count().desc(), Article.published_at.desc(), Article.id.desc()),
            )
            .label("rank"),
        )
        .join(
            other,
            and_(other.c.topic_id == mine.c.topic_id, other.c.article_id != mine.c.article_id),
        )
        .join(Article, and_(Article.id == other.c.article_id, _published()))
        .where(mine.c.article_id.in_(ids))
        .group_by(mine.c.article_id, other.c.article_id, Article.published_at, Article.id)
        .subquery()
    )
    curated = select(
        RelatedLink.article_id.label("source_id"),
        literal(0).label("tier"),
        RelatedLink.position.label("rank"),
        RelatedLink.id.label("link_id"),
        RelatedLink.target_article_id.label("target_id"),
        RelatedLink.url.label("url"),
        RelatedLink.title.label("title"),
        RelatedLink.label.label("label"),
        RelatedLink.excerpt.label("excerpt"),
    ).where(RelatedLink.article_id.in_(ids))
    candidates = select(
        ranked.c.source_id,
        literal(1),
        ranked.c.rank,
        null(),
        ranked.c.candidate_id,
        null(),
        null(),
        null(),
        null(),
    ).where(ranked.c.rank <= bindparam("depth"))
    both = union_all(curated, candidates).subquery()
    return select(both).order_by(both.c.source_id, both.c.tier, both.c.rank)


async def related_of_articles(
    *, session: AsyncSession, article_ids: Sequence[int], depth: int = 40
) -> dict[int, RelatedCandidates]:
    """Curated links and topic-sharing candidates for many articles, in one statement.

    Candidates are ids only (up to `depth` each): callers load the few they show.
    """
    rows = await session.execute(_related_statement(), {"ids": list(article_ids), "depth": depth})
    links: dict[int, list[Any]] = defaultdict(list)
    ranked_ids: dict[int, list[int]] = defaultdict(list)
    for row in rows:
        if row.tier == 0:
            links[row.source_id].append(row)
        else:
            ranked_ids[row.source_id].append(row.target_id)
    return {
        source: RelatedCandidates(links.get(source, []), ranked_ids.get(source, []))
        for source in set(links) | set(ranked_ids)
    }


async def topic_page(
    *, session: AsyncSession, page: PageRequest, kind: TopicKind | None = None
) -> Page:
    """Topics by name (keyset on name, id)."""
    filters = [Topic.kind == kind] if kind else []
    return await _keyset_page(
        session,
        rows_of=select(Topic).where(*filters),
        count_of=select(func.count()).select_from(Topic).where(*filters),
        columns=[Topic.name, Topic.id],
        descending=False,
        kind="topic",
        shape=(str, int),
        page=page,
    )


async def expert_page(*, session: AsyncSession, page: PageRequest) -> Page:
    """Experts by name (keyset on name, id)."""
    return await _keyset_page(
        session,
        rows_of=select(Expert),
        count_of=select(func.count()).select_from(Expert),
        columns=[Expert.name, Expert.id],
        descending=False,
        kind="expert",
        shape=(str, int),
        page=page,
    )


async def quotes_of_experts(
    *, session: AsyncSession, expert_ids: Sequence[int], limit: int
) -> dict[int, list[Quote]]:
    """Each expert's latest `limit` quotes in published articles, newest article first."""
    newest_first = (Article.published_at.desc(), Article.id.desc(), Quote.position)
    ranked = (
        select(
            Quote.id,
            func.row_number()
            .over(partition_by=Quote.expert_id, order_by=newest_first)
            .label("rank"),
        )
        .join(Article, Article.id == Quote.article_id)
        .where(Quote.expert_id.in_(expert_ids), _published())
        .subquery()
    )
    rows = await session.execute(
        select(Quote)
        .join(ranked, ranked.c.id == Quote.id)
        .join(Article, Article.id == Quote.article_id)
        .where(ranked.c.rank <= limit)
        .order_by(Quote.expert_id, *newest_first)
    )
    out: dict[int, list[Quote]] = defaultdict(list)
    for quote in rows.scalars():
        out[quote.expert_id].append(quote)
    return out


async def quotes_by_ids(
    *, session: AsyncSession, ids: Sequence[int], statuses: Statuses = PUBLISHED_ONLY
) -> dict[int, Quote]:
    """Quotes by id, only those in articles in `statuses` (published)."""
    rows = await session.execute(
        select(Quote)
        .join(Article, Article.id == Quote.article_id)
        .where(Quote.id.in_(ids), _visible(statuses))
    )
    return {quote.id: quote for quote in rows.scalars()}


async def revisions_of_articles(
    *, session: AsyncSession, article_ids: Sequence[int], limit: int
) -> dict[int, list[ArticleRevision]]:
    """Each article's latest `limit` revisions, newest first (one statement)."""
    ranked = (
        select(
            ArticleRevision.id,
            func.row_number()
            .over(
                partition_by=ArticleRevision.article_id,
                order_by=ArticleRevision.version.desc(),
            )
            .label("rank"),
        )
        .where(ArticleRevision.article_id.in_(article_ids))
        .subquery()
    )
    rows = await session.execute(
        select(ArticleRevision)
        .join(ranked, ranked.c.id == ArticleRevision.id)
        .where(ranked.c.rank <= limit)
        .order_by(ArticleRevision.article_id, ArticleRevision.version.desc())
    )
    out: dict[int, list[ArticleRevision]] = defaultdict(list)
    for revision in rows.scalars():
        assert revision.article_id is not None
        out[revision.article_id].append(revision)
    return out
