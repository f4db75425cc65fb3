"""Apply a load plan: upsert its items by slug, in the caller's transaction (all or nothing).

`apply_load` writes what `schema.load_plans.plan_load` found new or changed, in order:
experts, topics (then their parents), articles (whose topics, quotes, references and related
posts are replaced whole), a revision of each article written, and last the outbox rows
(`schema.changes.record`). Every item written gets the next version; unchanged items are not
touched. The seed loader and the GraphQL mutations (through `schema.edits`) both write here,
so there is one write path.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from sqlalchemy import delete, insert, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col

from schema.changes import Changed, article_action, record
from schema.inputs import ArticleInput, ExpertInput, ReferenceInput, TopicInput
from schema.load_plans import KindPlan, LoadPlan, Progress, Stored
from schema.tables import (
    Article,
    ArticleBase,
    ArticleRevision,
    ArticleStatus,
    ArticleTopic,
    ChangeAction,
    ChangeEntity,
    Expert,
    Quote,
    Reference,
    RelatedLink,
    RevisionAction,
    Topic,
    core_table,
    utcnow,
)

CHUNK = 500  # rows a statement writes (bounded by the databases' parameter limits)
CHILD_CHUNK = 2000  # rows a Core insert of an article's child rows writes

Item = TypeVar("Item")
Row = dict[str, Any]

# Columns copied as they are from inputs (attribute access: model_dump costs ~20 µs a call).
_ARTICLE_COLUMNS = [name for name in ArticleBase.model_fields if name != "published_at"]
_REFERENCE_COLUMNS = list(ReferenceInput.model_fields)


@dataclass(frozen=True)
class _Ids:
    """slug -> id of every item a plan's rows may point at, stored before or written now."""

    experts: dict[str, int]
    topics: dict[str, int]
    articles: dict[str, int]


async def apply_load(
    *,
    session: AsyncSession,
    plan: LoadPlan,
    now: dt.datetime | None = None,
    progress: Progress | None = None,
    actor: str = "seed loader",
    action: RevisionAction = RevisionAction.LOAD,
) -> None:
    """Write a problem-free plan. The caller owns the transaction (all or nothing).

    Every article written also gets a revision (its input form, `actor`, `action`), so no
    version of an article is ever lost, whoever wrote it.
    """
    if plan.problems:
        raise ValueError(f"refusing to write a plan with {len(plan.problems)} problems")
    now = now or utcnow()
    experts = await _upsert_experts(session, plan, now)
    topics = await _upsert_topics(session, plan, now)
    articles = await _upsert_articles(session, plan, now, experts, progress)
    ids = _Ids(experts=experts, topics=topics, articles=articles)
    await _insert_article_children(session, plan, ids, now, actor, action)
    await record(session, _changes(plan, ids), now)


async def insert_revision(
    *,
    session: AsyncSession,
    article_id: int | None,
    snapshot: ArticleInput,
    published_at: dt.datetime | None,
    version: int,
    action: RevisionAction,
    actor: str,
    now: dt.datetime,
) -> None:
    """Add one article_revision row (what `apply_load` adds for each article it writes)."""
    row = _revision_row(
        article_id=article_id,
        snapshot=snapshot,
        published_at=published_at,
        version=version,
        action=action,
        actor=actor,
        now=now,
    )
    await session.execute(insert(core_table(ArticleRevision)), [row])


# --- Steps of apply_load ---------------------------------------------------------------------


async def _upsert_experts(
    session: AsyncSession, plan: LoadPlan, now: dt.datetime
) -> dict[str, int]:
    return await _upsert_simple(session, Expert, plan.batch.experts, plan.experts, now, set())


async def _upsert_topics(session: AsyncSession, plan: LoadPlan, now: dt.datetime) -> dict[str, int]:
    """Topics, then their parents (which may be topics of the same batch)."""
    topics = plan.batch.topics
    ids = await _upsert_simple(session, Topic, topics, plan.topics, now, {"parent"})
    parents = [
        {"id": ids[t.slug], "parent_id": ids[t.parent] if t.parent else None}
        for t in (topics[i] for i in plan.topics.changed)
    ]
    if parents:
        await session.execute(update(Topic), parents)
    return ids


async def _upsert_articles(
    session: AsyncSession,
    plan: LoadPlan,
    now: dt.datetime,
    expert_ids: dict[str, int],
    progress: Progress | None,
) -> dict[str, int]:
    """Insert new articles, update changed ones (dropping their child rows, written again
    next); return slug -> id for all stored."""
    arts, articles = plan.articles, plan.batch.articles
    ids = {slug: s.id for slug, s in arts.stored.items()}
    done, total = 0, len(arts.changed)
    for chunk in _chunks(arts.created):
        rows = [{**_article_row(plan, i, now, expert_ids), "created_at": now} for i in chunk]
        ids.update(await _insert_returning_ids(session, Article, rows))
        done += len(chunk)
        if progress:
            progress("write", done, total)
    for chunk in _chunks(arts.updated):
        updated = [ids[articles[i].slug] for i in chunk]
        rows = [
            {"id": id_, **_article_row(plan, i, now, expert_ids)}
            for id_, i in zip(updated, chunk, strict=True)
        ]
        await session.execute(update(Article), rows)
        await _delete_children(session, updated)
        done += len(chunk)
        if progress:
            progress("write", done, total)
    return ids


async def _insert_article_children(
    session: AsyncSession,
    plan: LoadPlan,
    ids: _Ids,
    now: dt.datetime,
    actor: str,
    action: RevisionAction,
) -> None:
    """For each article written: its revision, topic links, quotes, references, related posts."""
    tables = (ArticleRevision, ArticleTopic, Quote, Reference, RelatedLink)
    children: dict[type[SQLModel], list[Row]] = {table: [] for table in tables}
    for i in plan.articles.changed:
        data = plan.batch.articles[i]
        article_id = ids.articles[data.slug]
        stored = plan.articles.stored.get(data.slug)
        children[ArticleRevision].append(
            _revision_row(
                article_id=article_id,
                snapshot=data,
                published_at=_published_at(data, stored, now),
                version=_next_version(stored),
                action=action,
                actor=actor,
                now=now,
            )
        )
        children[ArticleTopic] += _topic_links(article_id, data, ids.topics)
        children[Quote] += _quotes(article_id, data, plan.quote_anchors[i], ids.experts)
        children[Reference] += _references(article_id, data)
        children[RelatedLink] += _related(article_id, data, ids.articles)
    for table, rows in children.items():
        for chunk in _chunks(rows, CHILD_CHUNK):
            # Core insert: the ORM's bulk bookkeeping is wasted on rows we never load back.
            await session.execute(insert(core_table(table)), list(chunk))


def _changes(plan: LoadPlan, ids: _Ids) -> list[Changed]:
    """What the plan changes, for the outbox: experts, topics, then articles."""
    batch = plan.batch
    return [
        *_simple_changes(ChangeEntity.EXPERT, plan.experts, batch.experts, ids.experts),
        *_simple_changes(ChangeEntity.TOPIC, plan.topics, batch.topics, ids.topics),
        *(_article_change(plan, i, ids.articles) for i in plan.articles.changed),
    ]


def _simple_changes(
    entity: ChangeEntity,
    plan: KindPlan,
    items: Sequence[ExpertInput] | Sequence[TopicInput],
    ids: dict[str, int],
) -> Iterator[Changed]:
    for i in plan.changed:
        slug = items[i].slug
        stored = plan.stored.get(slug)
        action = ChangeAction.UPDATED if stored else ChangeAction.CREATED
        yield Changed(entity, ids[slug], slug, action, _next_version(stored))


def _article_change(plan: LoadPlan, i: int, ids: dict[str, int]) -> Changed:
    data = plan.batch.articles[i]
    stored = plan.articles.stored.get(data.slug)
    before = stored.status if stored else None
    public = ArticleStatus.PUBLISHED
    return Changed(
        ChangeEntity.ARTICLE,
        ids[data.slug],
        data.slug,
        article_action(before, data.status),
        _next_version(stored),
        listed=data.status == public or (before is not None and before == public),
        canonical_url=data.canonical_url,
    )


# --- Rows ------------------------------------------------------------------------------------


async def _upsert_simple(
    session: AsyncSession,
    table: type[Expert] | type[Topic],
    items: Sequence[ExpertInput] | Sequence[TopicInput],
    plan: KindPlan,
    now: dt.datetime,
    exclude: set[str],
) -> dict[str, int]:
    """Insert new and update changed experts or topics; return slug -> id for all stored."""

    def row(i: int) -> Row:
        data = items[i].model_dump(exclude=exclude)
        return {**data, "content_hash": plan.hashes[i], "updated_at": now}

    ids = {slug: s.id for slug, s in plan.stored.items()}
    created = [{**row(i), "created_at": now} for i in plan.created]
    ids.update(await _insert_returning_ids(session, table, created))
    updates = [
        {"id": ids[items[i].slug], **row(i), "version": plan.stored[items[i].slug].version + 1}
        for i in plan.updated
    ]
    if updates:
        await session.execute(update(table), updates)
    return ids


async def _insert_returning_ids(
    session: AsyncSession, table: type[Article] | type[Expert] | type[Topic], rows: list[Row]
) -> dict[str, int]:
    ids: dict[str, int] = {}
    for chunk in _chunks(rows):
        result = await session.execute(
            insert(table).returning(col(table.slug), col(table.id)), list(chunk)
        )
        # Inserted rows have ids: the table models' `int | None` is for rows not yet inserted.
        ids.update((slug, cast(int, id_)) for slug, id_ in result)
    return ids


async def _delete_children(session: AsyncSession, article_ids: list[int]) -> None:
    for child in (ArticleTopic, Quote, Reference, RelatedLink):
        await session.execute(delete(child).where(col(child.article_id).in_(article_ids)))


def _article_row(plan: LoadPlan, i: int, now: dt.datetime, expert_ids: dict[str, int]) -> Row:
    data, body = plan.batch.articles[i], plan.rendered[i]
    stored = plan.articles.stored.get(data.slug)
    review = data.review
    return {
        **_columns(data, _ARTICLE_COLUMNS),
        "published_at": _published_at(data, stored, now),
        "updated_at": now,
        "version": _next_version(stored),
        "body_markdown": data.body,
        "body_html": body.html,
        "body_text": body.text,
        "word_count": body.word_count,
        "reading_time_minutes": body.reading_time_minutes,
        "sections": [s.as_dict() for s in body.sections],
        "reviewer_id": expert_ids[review.reviewer] if review else None,
        "reviewed_at": review.reviewed_at if review else None,
        "next_review_due": review.next_review_due if review else None,
        "content_hash": plan.articles.hashes[i],
    }


def _revision_row(
    *,
    article_id: int | None,
    snapshot: ArticleInput,
    published_at: dt.datetime | None,
    version: int,
    action: RevisionAction,
    actor: str,
    now: dt.datetime,
) -> Row:
    """An article_revision row: the article as written (input form) at `version`."""
    data = snapshot.model_dump(mode="json")
    data["published_at"] = published_at.isoformat() if published_at else None
    return {
        "article_id": article_id,
        "article_slug": snapshot.slug,
        "version": version,
        "action": action.value,
        "snapshot": data,
        "changed_by": actor,
        "changed_at": now,
    }


def _topic_links(article_id: int, data: ArticleInput, topic_ids: dict[str, int]) -> list[Row]:
    primary = data.primary
    return [
        {
            "article_id": article_id,
            "topic_id": topic_ids[slug],
            "position": n,
            "is_primary": slug == primary,
        }
        for n, slug in enumerate(data.topics)
    ]


def _quotes(
    article_id: int, data: ArticleInput, anchors: list[str | None], expert_ids: dict[str, int]
) -> list[Row]:
    return [
        {
            "article_id": article_id,
            "expert_id": expert_ids[q.expert],
            "section_anchor": anchors[n],
            "text": q.text,
            "context": q.context,
            "position": n,
        }
        for n, q in enumerate(data.quotes)
    ]


def _references(article_id: int, data: ArticleInput) -> list[Row]:
    return [
        {"article_id": article_id, "position": n, **_columns(r, _REFERENCE_COLUMNS)}
        for n, r in enumerate(data.references)
    ]


def _related(article_id: int, data: ArticleInput, article_ids: dict[str, int]) -> list[Row]:
    return [
        {
            "article_id": article_id,
            "target_article_id": article_ids[r.article] if r.article else None,
            "url": r.url,
            "title": r.title,
            "label": r.label,
            "excerpt": r.excerpt,
            "position": n,
        }
        for n, r in enumerate(data.related)
    ]


def _published_at(
    data: ArticleInput, stored: Stored | None, now: dt.datetime
) -> dt.datetime | None:
    # Editors may leave the date out: a published article keeps the first date it was given.
    if data.published_at is not None:
        return data.published_at
    if stored is not None and stored.published_at is not None:
        return stored.published_at
    return now if data.status == ArticleStatus.PUBLISHED else None


def _next_version(stored: Stored | None) -> int:
    return stored.version + 1 if stored else 1


def _columns(model: SQLModel, names: Sequence[str]) -> Row:
    """Column values; nested inputs (an article's licence, attribution) as JSON."""
    values = {name: getattr(model, name) for name in names}
    return {
        name: value.model_dump(mode="json") if isinstance(value, SQLModel) else value
        for name, value in values.items()
    }


def _chunks(items: Sequence[Item], size: int = CHUNK) -> Iterator[Sequence[Item]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
