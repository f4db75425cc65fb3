"""Write content: plan a batch (validate, render what changed), then apply it in one transaction.

Upserts by slug. An item whose content hash matches the stored one is left alone, so loading
the same content twice writes nothing. The seed loader and the GraphQL mutations both come
through `plan_load` / `apply_load`, so there is one validation path and one write path.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel

from schema.changes import Changed, article_action, record
from schema.inputs import ArticleInput, ExpertInput, ReferenceInput, TopicInput
from schema.rendering import RenderedBody, render_markdown
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
    utcnow,
)
from schema.validation import Known, Problem, check_batch, locate_quotes

Progress = Callable[[str, int, int], None]  # (stage, done, total)
CHUNK = 500


@dataclass
class Batch:
    """A set of items to write together, all or nothing."""

    topics: list[TopicInput] = field(default_factory=list)
    experts: list[ExpertInput] = field(default_factory=list)
    articles: list[ArticleInput] = field(default_factory=list)


@dataclass
class Stored:
    """What the database holds for one slug."""

    id: int
    content_hash: str
    version: int = 1
    published_at: dt.datetime | None = None
    status: str | None = None  # articles only


@dataclass
class KindPlan:
    """For one kind of item: which batch positions are new, changed or unchanged."""

    created: list[int] = field(default_factory=list)
    updated: list[int] = field(default_factory=list)
    unchanged: list[int] = field(default_factory=list)
    hashes: list[str] = field(default_factory=list)
    stored: dict[str, Stored] = field(default_factory=dict)


@dataclass
class LoadPlan:
    batch: Batch
    topics: KindPlan
    experts: KindPlan
    articles: KindPlan
    rendered: dict[int, RenderedBody]
    quote_anchors: dict[int, list[str | None]]
    problems: list[Problem]

    def counts(self) -> dict[str, dict[str, int]]:
        return {
            kind: {
                "created": len(p.created),
                "updated": len(p.updated),
                "unchanged": len(p.unchanged),
            }
            for kind, p in (
                ("topics", self.topics),
                ("experts", self.experts),
                ("articles", self.articles),
            )
        }

    def changed_slugs(self) -> dict[str, dict[str, list[str]]]:
        out: dict[str, dict[str, list[str]]] = {}
        for kind, plan, items in (
            ("topics", self.topics, self.batch.topics),
            ("experts", self.experts, self.batch.experts),
            ("articles", self.articles, self.batch.articles),
        ):
            out[kind] = {
                "created": [items[i].slug for i in plan.created],
                "updated": [items[i].slug for i in plan.updated],
            }
        return out


def _classify(hashes: list[str], slugs: list[str], stored: dict[str, Stored]) -> KindPlan:
    plan = KindPlan(hashes=hashes, stored=stored)
    for i, (slug, digest) in enumerate(zip(slugs, hashes, strict=True)):
        row = stored.get(slug)
        if row is None:
            plan.created.append(i)
        elif row.content_hash != digest:
            plan.updated.append(i)
        else:
            plan.unchanged.append(i)
    return plan


def _render(article: ArticleInput) -> RenderedBody:
    return render_markdown(article.body, reference_keys=[r.key for r in article.references])


SMALL_BATCH = 200  # up to this many items, only the rows a batch refers to are read


def _referenced(batch: Batch) -> tuple[set[str], set[str]]:
    """Article and expert slugs a batch writes or refers to."""
    articles = {a.slug for a in batch.articles}
    experts = {e.slug for e in batch.experts}
    for article in batch.articles:
        articles.update(r.article for r in article.related if r.article)
        experts.update(q.expert for q in article.quotes)
        if article.review is not None:
            experts.add(article.review.reviewer)
    return articles, experts


async def read_stored(
    session: AsyncSession, batch: Batch | None = None
) -> tuple[dict[str, dict[str, Stored]], Known]:
    """Slugs, ids and hashes of what is stored, for classification and cross-checks.

    For a small batch (one edit) only the articles and experts it names are read, so an edit
    costs the same however much content there is. Topics are always read whole: checking a
    parent for cycles walks the tree.
    """
    only_articles = only_experts = None
    if batch is not None and len(batch.articles) + len(batch.experts) <= SMALL_BATCH:
        only_articles, only_experts = _referenced(batch)
    stored: dict[str, dict[str, Stored]] = {}
    for kind, table, only in (("topics", Topic, None), ("experts", Expert, only_experts)):
        statement = select(table.slug, table.id, table.content_hash, table.version)
        if only is not None:
            statement = statement.where(table.slug.in_(only))
        rows = await session.execute(statement)
        stored[kind] = {slug: Stored(id_, digest, version) for slug, id_, digest, version in rows}
    statement = select(
        Article.slug,
        Article.id,
        Article.content_hash,
        Article.version,
        Article.published_at,
        Article.status,
    )
    if only_articles is not None:
        statement = statement.where(Article.slug.in_(only_articles))
    rows = await session.execute(statement)
    stored["articles"] = {r[0]: Stored(r[1], r[2], r[3], r[4], r[5]) for r in rows}
    parent = Topic.__table__.alias("parent")
    parents = await session.execute(
        select(Topic.slug, parent.c.slug).outerjoin(parent, parent.c.id == Topic.parent_id)
    )
    known = Known(
        topics=set(stored["topics"]),
        experts=set(stored["experts"]),
        articles=set(stored["articles"]),
        topic_parents={slug: parent_slug for slug, parent_slug in parents},
    )
    return stored, known


async def stored_article_hashes(session: AsyncSession) -> dict[str, str]:
    """slug -> content hash of every stored article (what a loader may skip rendering)."""
    rows = await session.execute(select(Article.slug, Article.content_hash))
    return {slug: digest for slug, digest in rows}


async def plan_load(
    *,
    session: AsyncSession,
    batch: Batch,
    rendered: dict[int, RenderedBody] | None = None,
) -> LoadPlan:
    """Classify every item, render the bodies that changed, and collect every problem.

    `rendered` may carry bodies rendered ahead of time (by batch position); any changed
    article without one is rendered here.
    """
    stored, known = await read_stored(session, batch)
    topics = _classify(
        [t.content_hash() for t in batch.topics], [t.slug for t in batch.topics], stored["topics"]
    )
    experts = _classify(
        [e.content_hash() for e in batch.experts],
        [e.slug for e in batch.experts],
        stored["experts"],
    )
    articles = _classify(
        [a.content_hash() for a in batch.articles],
        [a.slug for a in batch.articles],
        stored["articles"],
    )
    changed = articles.created + articles.updated
    given = rendered or {}
    rendered = {i: given.get(i) or _render(batch.articles[i]) for i in changed}
    anchors = {i: locate_quotes(rendered[i], batch.articles[i].quotes) for i in changed}
    problems = check_batch(
        topics=batch.topics,
        experts=batch.experts,
        articles=batch.articles,
        known=known,
        rendered=rendered,
        quote_anchors=anchors,
    )
    return LoadPlan(batch, topics, experts, articles, rendered, anchors, problems)


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def _insert_returning_ids(
    session: AsyncSession, table: type[Any], rows: list[dict[str, Any]]
) -> dict[str, int]:
    ids: dict[str, int] = {}
    for chunk in _chunks(rows):
        result = await session.execute(
            insert(table).returning(table.slug, table.id),
            list(chunk),
        )
        ids.update((slug, id_) for slug, id_ in result)
    return ids


async def _upsert_simple(
    session: AsyncSession,
    table: type[Any],
    items: Sequence[ExpertInput] | Sequence[TopicInput],
    plan: KindPlan,
    now: dt.datetime,
    exclude: set[str],
) -> dict[str, int]:
    """Insert new and update changed experts or topics; return slug -> id for all stored."""

    def row(i: int) -> dict[str, Any]:
        data = items[i].model_dump(exclude=exclude)
        return {**data, "content_hash": plan.hashes[i], "updated_at": now}

    ids = {slug: s.id for slug, s in plan.stored.items()}
    ids.update(
        await _insert_returning_ids(
            session, table, [{**row(i), "created_at": now} for i in plan.created]
        )
    )
    updates = [
        {"id": ids[items[i].slug], **row(i), "version": plan.stored[items[i].slug].version + 1}
        for i in plan.updated
    ]
    if updates:
        await session.execute(update(table), updates)
    return ids


def _published_at(data: ArticleInput, stored: Stored | None, now: dt.datetime) -> Any:
    # Editors may leave the date out: a published article keeps the first date it was given.
    if data.published_at is not None:
        return data.published_at
    if stored is not None and stored.published_at is not None:
        return stored.published_at
    return now if data.status == ArticleStatus.PUBLISHED else None


def _next_version(stored: Stored | None) -> int:
    return stored.version + 1 if stored else 1


def revision_row(
    *,
    article_id: int | None,
    snapshot: ArticleInput,
    published_at: dt.datetime | None,
    version: int,
    action: RevisionAction,
    actor: str,
    now: dt.datetime,
) -> dict[str, Any]:
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


# Columns copied as they are from inputs (attribute access: model_dump costs ~20 µs a call).
_ARTICLE_COLUMNS = [name for name in ArticleBase.model_fields if name != "published_at"]
_REFERENCE_COLUMNS = list(ReferenceInput.model_fields)


def _changes(
    plan: LoadPlan,
    expert_ids: dict[str, int],
    topic_ids: dict[str, int],
    article_ids: dict[str, int],
) -> list[Changed]:
    """What the plan changes, for the outbox."""
    batch, out = plan.batch, []
    for entity, kind, items, ids in (
        (ChangeEntity.EXPERT, plan.experts, batch.experts, expert_ids),
        (ChangeEntity.TOPIC, plan.topics, batch.topics, topic_ids),
    ):
        for i in kind.created + kind.updated:
            stored = kind.stored.get(items[i].slug)
            action = ChangeAction.UPDATED if stored else ChangeAction.CREATED
            out.append(
                Changed(entity, ids[items[i].slug], items[i].slug, action, _next_version(stored))
            )
    arts = plan.articles
    for i in arts.created + arts.updated:
        data = batch.articles[i]
        stored = arts.stored.get(data.slug)
        before = stored.status if stored else None
        action = article_action(before, data.status)
        public = ArticleStatus.PUBLISHED
        listed = data.status == public or (before is not None and before == public)
        out.append(
            Changed(
                ChangeEntity.ARTICLE,
                article_ids[data.slug],
                data.slug,
                action,
                _next_version(stored),
                listed,
                data.canonical_url,
            )
        )
    return out


def _columns(model: Any, names: Sequence[str]) -> dict[str, Any]:
    """Column values; nested inputs (an article's licence, attribution) as JSON."""
    values = {name: getattr(model, name) for name in names}
    return {
        name: value.model_dump(mode="json") if isinstance(value, SQLModel) else value
        for name, value in values.items()
    }


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
    batch = plan.batch
    expert_ids = await _upsert_simple(
        session, Expert, batch.experts, plan.experts, now, exclude=set()
    )
    topic_ids = await _upsert_simple(
        session, Topic, batch.topics, plan.topics, now, exclude={"parent"}
    )
    parents = [
        {"id": topic_ids[t.slug], "parent_id": topic_ids[t.parent] if t.parent else None}
        for t in (batch.topics[i] for i in plan.topics.created + plan.topics.updated)
    ]
    if parents:
        await session.execute(update(Topic), parents)

    arts = plan.articles
    changed = arts.created + arts.updated

    def article_row(i: int) -> dict[str, Any]:
        data, body = batch.articles[i], plan.rendered[i]
        stored = arts.stored.get(data.slug)
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
            "content_hash": arts.hashes[i],
        }

    article_ids = {slug: s.id for slug, s in arts.stored.items()}
    done = 0
    for chunk in _chunks(arts.created):
        rows = [{**article_row(i), "created_at": now} for i in chunk]
        article_ids.update(await _insert_returning_ids(session, Article, rows))
        done += len(chunk)
        if progress:
            progress("write", done, len(changed))
    for chunk in _chunks(arts.updated):
        rows = [{"id": article_ids[batch.articles[i].slug], **article_row(i)} for i in chunk]
        await session.execute(update(Article), rows)
        ids = [row["id"] for row in rows]
        for child in (ArticleTopic, Quote, Reference, RelatedLink):
            await session.execute(delete(child).where(child.article_id.in_(ids)))
        done += len(chunk)
        if progress:
            progress("write", done, len(changed))

    revisions: list[dict[str, Any]] = []
    links: list[dict[str, Any]] = []
    quotes: list[dict[str, Any]] = []
    references: list[dict[str, Any]] = []
    related: list[dict[str, Any]] = []
    for i in changed:
        data, anchors = batch.articles[i], plan.quote_anchors[i]
        article_id = article_ids[data.slug]
        primary = data.primary
        stored = arts.stored.get(data.slug)
        revisions.append(
            revision_row(
                article_id=article_id,
                snapshot=data,
                published_at=_published_at(data, stored, now),
                version=_next_version(stored),
                action=action,
                actor=actor,
                now=now,
            )
        )
        links += [
            {
                "article_id": article_id,
                "topic_id": topic_ids[slug],
                "position": n,
                "is_primary": slug == primary,
            }
            for n, slug in enumerate(data.topics)
        ]
        quotes += [
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
        references += [
            {"article_id": article_id, "position": n, **_columns(r, _REFERENCE_COLUMNS)}
            for n, r in enumerate(data.references)
        ]
        related += [
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
    for table, rows in (
        (ArticleRevision, revisions),
        (ArticleTopic, links),
        (Quote, quotes),
        (Reference, references),
        (RelatedLink, related),
    ):
        for chunk in _chunks(rows, 2000):
            # Core insert: the ORM's bulk bookkeeping is wasted on rows we never load back.
            await session.execute(insert(table.__table__), list(chunk))
    await record(session, _changes(plan, expert_ids, topic_ids, article_ids), now)
