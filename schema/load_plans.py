"""Plan a load: what a batch would create, change or leave alone, and every problem with it.

A `Batch` is a set of items written together, all or nothing. `plan_load` reads what is stored,
classifies each item by its content hash (an item whose hash matches the stored one is left
alone, so loading the same content twice writes nothing), renders the bodies that changed and
collects the problems `schema.validation` finds. It writes nothing: `schema.upserts`
`apply_load` writes a problem-free plan. The seed loader and the GraphQL mutations (through
`schema.edits`) both plan here, so there is one validation path.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col

from schema.inputs import ArticleInput, ExpertInput, TopicInput
from schema.rendering import RenderedBody, render_markdown
from schema.tables import Article, Expert, Topic
from schema.validation import Known, Problem, check_batch, locate_quotes

Progress = Callable[[str, int, int], None]  # (stage, done, total)
SMALL_BATCH = 200  # up to this many items, only the rows a batch refers to are read


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

    @property
    def changed(self) -> list[int]:
        """Positions to write: the new ones, then the changed ones."""
        return self.created + self.updated


@dataclass
class LoadPlan:
    """A batch, classified and rendered, with the problems that forbid writing it."""

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
        return {
            "topics": _slugs(self.topics, [t.slug for t in self.batch.topics]),
            "experts": _slugs(self.experts, [e.slug for e in self.batch.experts]),
            "articles": _slugs(self.articles, [a.slug for a in self.batch.articles]),
        }


def _slugs(plan: KindPlan, slugs: list[str]) -> dict[str, list[str]]:
    return {
        "created": [slugs[i] for i in plan.created],
        "updated": [slugs[i] for i in plan.updated],
    }


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


def _id(value: int | None) -> int:
    # A stored row has an id: the table models' `int | None` is for rows not yet inserted.
    return cast(int, value)


async def _stored_items(
    session: AsyncSession, table: type[Topic] | type[Expert], only: set[str] | None
) -> dict[str, Stored]:
    statement = select(col(table.slug), col(table.id), col(table.content_hash), col(table.version))
    if only is not None:
        statement = statement.where(col(table.slug).in_(only))
    rows = await session.execute(statement)
    return {slug: Stored(_id(id_), digest, version) for slug, id_, digest, version in rows}


async def _stored_articles(session: AsyncSession, only: set[str] | None) -> dict[str, Stored]:
    statement = select(
        col(Article.slug),
        col(Article.id),
        col(Article.content_hash),
        col(Article.version),
        col(Article.published_at),
        col(Article.status),
    )
    if only is not None:
        statement = statement.where(col(Article.slug).in_(only))
    rows = await session.execute(statement)
    return {r[0]: Stored(_id(r[1]), r[2], r[3], r[4], r[5]) for r in rows}


async def _topic_parents(session: AsyncSession) -> dict[str, str | None]:
    parent = aliased(Topic, name="parent")
    rows = await session.execute(
        select(col(Topic.slug), col(parent.slug)).outerjoin(
            parent, col(parent.id) == col(Topic.parent_id)
        )
    )
    return {slug: parent_slug for slug, parent_slug in rows}


async def read_stored(
    *, session: AsyncSession, batch: Batch | None = None
) -> tuple[dict[str, dict[str, Stored]], Known]:
    """Slugs, ids and hashes of what is stored, for classification and cross-checks.

    For a small batch (one edit) only the articles and experts it names are read, so an edit
    costs the same however much content there is. Topics are always read whole: checking a
    parent for cycles walks the tree.
    """
    only_articles = only_experts = None
    if batch is not None and len(batch.articles) + len(batch.experts) <= SMALL_BATCH:
        only_articles, only_experts = _referenced(batch)
    stored = {
        "topics": await _stored_items(session, Topic, None),
        "experts": await _stored_items(session, Expert, only_experts),
        "articles": await _stored_articles(session, only_articles),
    }
    known = Known(
        topics=set(stored["topics"]),
        experts=set(stored["experts"]),
        articles=set(stored["articles"]),
        topic_parents=await _topic_parents(session),
    )
    return stored, known


async def stored_article_hashes(*, session: AsyncSession) -> dict[str, str]:
    """slug -> content hash of every stored article (what a loader may skip rendering)."""
    rows = await session.execute(select(col(Article.slug), col(Article.content_hash)))
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
    stored, known = await read_stored(session=session, batch=batch)
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
    given = rendered or {}
    bodies = {i: given.get(i) or _render(batch.articles[i]) for i in articles.changed}
    anchors = {i: locate_quotes(bodies[i], batch.articles[i].quotes) for i in articles.changed}
    problems = check_batch(
        topics=batch.topics,
        experts=batch.experts,
        articles=batch.articles,
        known=known,
        rendered=bodies,
        quote_anchors=anchors,
    )
    return LoadPlan(batch, topics, experts, articles, bodies, anchors, problems)
