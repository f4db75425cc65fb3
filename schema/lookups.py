"""Lookups by key, in batches: each function answers many keys in one statement (the per-request
loaders call them), for articles, their topics, quotes, references, related posts and revisions.

Published articles only, unless the caller passes other `statuses`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal, NamedTuple, TypeVar, cast

from sqlalchemy import (
    BindParameter,
    Select,
    and_,
    bindparam,
    func,
    literal,
    null,
    select,
    union_all,
)
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute, defer
from sqlmodel import col

from schema.tables import (
    Article,
    ArticleRevision,
    ArticleTopic,
    Expert,
    Quote,
    Reference,
    RelatedLink,
    Topic,
    core_table,
)
from schema.visibility import PUBLISHED_ONLY, Statuses, published, visible


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
def _articles_statement(column: str, statuses: Statuses) -> Select[Article]:
    attribute = col(getattr(Article, column))
    keys: BindParameter[Any] = bindparam("keys", expanding=True)
    statement = select(Article).where(visible(statuses), attribute.in_(keys))
    return statement.options(*without_text()) if column == "id" else statement


@cache
def _topics_statement() -> Select[int, bool, Topic]:
    return (
        select(col(ArticleTopic.article_id), col(ArticleTopic.is_primary), Topic)
        .join(Topic, col(Topic.id) == col(ArticleTopic.topic_id))
        .where(col(ArticleTopic.article_id).in_(bindparam("ids", expanding=True)))
        .order_by(col(ArticleTopic.article_id), col(ArticleTopic.position))
    )


@cache
def _quotes_statement() -> Select[Quote, Expert]:
    return (
        select(Quote, Expert)
        .join(Expert, col(Expert.id) == col(Quote.expert_id))
        .where(col(Quote.article_id).in_(bindparam("ids", expanding=True)))
        .order_by(col(Quote.article_id), col(Quote.position))
    )


@cache
def _references_statement() -> Select[Reference]:
    return (
        select(Reference)
        .where(col(Reference.article_id).in_(bindparam("ids", expanding=True)))
        .order_by(col(Reference.article_id), col(Reference.position))
    )


class ArticleText(NamedTuple):
    """An article's body in its three forms and its sections: most of its bytes."""

    body_markdown: str
    body_html: str
    body_text: str
    sections: list[dict[str, Any]]


# As the ORM's attributes (what `defer` takes and `inspect` names), which they are at runtime.
_TEXT = cast(
    tuple[QueryableAttribute[Any], ...],
    (Article.body_markdown, Article.body_html, Article.body_text, Article.sections),
)


def without_text() -> list[Any]:
    # About 20 KB an article, and a JSON document to decode per row, that lists and cards
    # never show. Reading one by mistake raises instead of querying behind our back.
    return [defer(column, raiseload=True) for column in _TEXT]


def has_text(article: Article) -> bool:
    """Whether `article` was read with its text (else `article_texts` has it)."""
    return not sa_inspect(article).unloaded.intersection(column.key for column in _TEXT)


async def article_texts(*, session: AsyncSession, ids: Sequence[int]) -> dict[int, ArticleText]:
    """The text of each article in `ids` (whatever its status: its row was already allowed)."""
    rows = await session.execute(select(col(Article.id), *_TEXT).where(col(Article.id).in_(ids)))
    return {id_: ArticleText(*text) for id_, *text in rows}


# What `rows_by` looks up: topics or experts.
Named = TypeVar("Named", Topic, Expert)


async def rows_by(
    *,
    session: AsyncSession,
    table: type[Named],
    column: Literal["id", "slug"],
    keys: Sequence[int] | Sequence[str],
) -> dict[Any, Named]:
    """Topics or experts whose `column` (id or slug) is in keys."""
    attribute = col(getattr(table, column))
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


@cache
def _topics_and_references_statement() -> Any:
    """Both lists in one statement: a union of (article, kind, position, topic or reference
    id), each joined to its row. Built once."""
    ids: BindParameter[int] = bindparam("ids", expanding=True)
    both = union_all(
        select(
            col(ArticleTopic.article_id).label("article_id"),
            literal(0).label("kind"),
            col(ArticleTopic.position).label("position"),
            col(ArticleTopic.is_primary).label("is_primary"),
            col(ArticleTopic.topic_id).label("topic_id"),
            null().label("reference_id"),
        ).where(col(ArticleTopic.article_id).in_(ids)),
        select(
            col(Reference.article_id),
            literal(1),
            col(Reference.position),
            literal(False),
            null(),
            col(Reference.id),
        ).where(col(Reference.article_id).in_(ids)),
    ).subquery()
    return (
        select(both.c.article_id, both.c.is_primary, Topic, Reference)
        .select_from(both)
        .outerjoin(Topic, col(Topic.id) == both.c.topic_id)
        .outerjoin(Reference, col(Reference.id) == both.c.reference_id)
        .order_by(both.c.article_id, both.c.kind, both.c.position)
    )


async def topics_and_references_of_articles(
    *, session: AsyncSession, article_ids: Sequence[int]
) -> tuple[dict[int, list[tuple[Topic, bool]]], dict[int, list[Reference]]]:
    """`topics_of_articles` and `references_of_articles` in one statement, for a page that
    shows both (one round trip fewer)."""
    rows = await session.execute(_topics_and_references_statement(), {"ids": list(article_ids)})
    topics: dict[int, list[tuple[Topic, bool]]] = defaultdict(list)
    references: dict[int, list[Reference]] = defaultdict(list)
    for article_id, primary, topic, reference in rows:
        if topic is not None:
            topics[article_id].append((topic, primary))
        elif reference is not None:
            references[article_id].append(reference)
    return topics, references


@dataclass(frozen=True)
class Related:
    """An article's related posts as stored and ranked: its curated links in order, each
    with its target article if that is published (else None), then other published
    articles ranked by topics shared with it (curated targets left out)."""

    links: list[tuple[Any, Article | None]]  # (row: link_id, target_id, url, title, ...)
    ranked: list[Article]


@cache
def _related_statement() -> Any:
    """Built once (with its aliases and window): building it took longer than running it."""
    ids: BindParameter[int] = bindparam("ids", expanding=True)
    mine = core_table(ArticleTopic).alias("mine")
    other = core_table(ArticleTopic).alias("other")
    curated_target = (
        select(col(RelatedLink.id))
        .where(
            col(RelatedLink.article_id) == mine.c.article_id,
            col(RelatedLink.target_article_id) == other.c.article_id,
        )
        .exists()
    )
    ranked = (
        select(
            mine.c.article_id.label("source_id"),
            other.c.article_id.label("candidate_id"),
            func.row_number()
            .over(
                partition_by=mine.c.article_id,
                order_by=(
                    func.count().desc(),
                    col(Article.published_at).desc(),
                    col(Article.id).desc(),
                ),
            )
            .label("rank"),
        )
        .join(
            other,
            and_(other.c.topic_id == mine.c.topic_id, other.c.article_id != mine.c.article_id),
        )
        .join(Article, and_(col(Article.id) == other.c.article_id, published()))
        .where(mine.c.article_id.in_(ids), ~curated_target)
        .group_by(mine.c.article_id, other.c.article_id, col(Article.published_at), col(Article.id))
        .subquery()
    )
    curated: Select[*tuple[Any, ...]] = select(
        col(RelatedLink.article_id).label("source_id"),
        literal(0).label("tier"),
        col(RelatedLink.position).label("rank"),
        col(RelatedLink.id).label("link_id"),
        col(RelatedLink.target_article_id).label("target_id"),
        col(RelatedLink.url).label("url"),
        col(RelatedLink.title).label("title"),
        col(RelatedLink.label).label("label"),
        col(RelatedLink.excerpt).label("excerpt"),
    ).where(col(RelatedLink.article_id).in_(ids))
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
    # The articles shown come in the same statement (without their text), published only.
    return (
        select(both, Article)
        .outerjoin(Article, and_(col(Article.id) == both.c.target_id, published()))
        .options(*without_text())
        .order_by(both.c.source_id, both.c.tier, both.c.rank)
    )


async def related_of_articles(
    *, session: AsyncSession, article_ids: Sequence[int], depth: int
) -> dict[int, Related]:
    """Related posts of many articles, in one statement: every curated link, and up to
    `depth` topic-sharing articles each."""
    rows = await session.execute(_related_statement(), {"ids": list(article_ids), "depth": depth})
    links: dict[int, list[tuple[Any, Article | None]]] = defaultdict(list)
    ranked: dict[int, list[Article]] = defaultdict(list)
    for row in rows:
        article = row[-1]
        if row.tier == 0:
            links[row.source_id].append((row, article))
        elif article is not None:
            ranked[row.source_id].append(article)
    return {
        source: Related(links.get(source, []), ranked.get(source, []))
        for source in set(links) | set(ranked)
    }


async def quotes_of_experts(
    *, session: AsyncSession, expert_ids: Sequence[int], limit: int
) -> dict[int, list[Quote]]:
    """Each expert's latest `limit` quotes in published articles, newest article first."""
    newest_first = (col(Article.published_at).desc(), col(Article.id).desc(), col(Quote.position))
    ranked = (
        select(
            col(Quote.id),
            func.row_number()
            .over(partition_by=col(Quote.expert_id), order_by=newest_first)
            .label("rank"),
        )
        .join(Article, col(Article.id) == col(Quote.article_id))
        .where(col(Quote.expert_id).in_(expert_ids), published())
        .subquery()
    )
    rows = await session.execute(
        select(Quote)
        .join(ranked, ranked.c.id == col(Quote.id))
        .join(Article, col(Article.id) == col(Quote.article_id))
        .where(ranked.c.rank <= limit)
        .order_by(col(Quote.expert_id), *newest_first)
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
        .join(Article, col(Article.id) == col(Quote.article_id))
        .where(col(Quote.id).in_(ids), visible(statuses))
    )
    return {quote.id: quote for quote in rows.scalars() if quote.id is not None}


async def revisions_of_articles(
    *, session: AsyncSession, article_ids: Sequence[int], limit: int
) -> dict[int, list[ArticleRevision]]:
    """Each article's latest `limit` revisions, newest first (one statement)."""
    ranked = (
        select(
            col(ArticleRevision.id),
            func.row_number()
            .over(
                partition_by=col(ArticleRevision.article_id),
                order_by=col(ArticleRevision.version).desc(),
            )
            .label("rank"),
        )
        .where(col(ArticleRevision.article_id).in_(article_ids))
        .subquery()
    )
    rows = await session.execute(
        select(ArticleRevision)
        .join(ranked, ranked.c.id == col(ArticleRevision.id))
        .where(ranked.c.rank <= limit)
        .order_by(col(ArticleRevision.article_id), col(ArticleRevision.version).desc())
    )
    out: dict[int, list[ArticleRevision]] = defaultdict(list)
    for revision in rows.scalars():
        assert revision.article_id is not None
        out[revision.article_id].append(revision)
    return out
