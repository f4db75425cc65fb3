"""Edits one item at a time (what the GraphQL mutations do), through the seed loader's path.

Each edit runs in its own writing transaction (the same lock the loader takes), checks the
version the editor last saw, validates with `schema.inputs` and `schema.validation`, plans with
`schema.load_plans` and writes with `schema.upserts`: one validation path, one set of messages,
one write path. A rejected edit changes nothing; an accepted one bumps the version and, for
articles, adds a revision.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Generic, TypeVar

from pydantic import ValidationError
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from schema.changes import Changed, record
from schema.db import open_session
from schema.inputs import (
    SLUG_PATTERN,
    ArticleInput,
    ExpertInput,
    ReferenceInput,
    TopicInput,
    quote_key,
)
from schema.load_plans import Batch, plan_load
from schema.tables import (
    Article,
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
from schema.upserts import apply_load, insert_revision
from schema.validation import Loc, Problem, problems_from_error

Row = TypeVar("Row")
Model = TypeVar("Model", ArticleInput, TopicInput, ExpertInput)


class EditCode(StrEnum):
    INVALID_INPUT = "invalid_input"  # a field's value is wrong (the message says how)
    NOT_FOUND = "not_found"  # the item to edit does not exist
    ALREADY_EXISTS = "already_exists"  # the slug is taken
    VERSION_CONFLICT = "version_conflict"  # someone changed it since the editor read it
    IN_USE = "in_use"  # other content points at it


@dataclass(frozen=True)
class EditProblem:
    """Why an edit was refused: the input field (a path, () for the whole edit) and a message."""

    loc: Loc
    message: str
    code: EditCode = EditCode.INVALID_INPUT


@dataclass
class EditResult(Generic[Row]):
    """The item as stored after the edit, or the problems that stopped it (then nothing
    changed)."""

    row: Row | None = None
    problems: list[EditProblem] = field(default_factory=list)


class _Rejected(Exception):
    def __init__(self, problems: list[EditProblem]) -> None:
        super().__init__(problems)
        self.problems = problems


def _problem(problem: Problem) -> EditProblem:
    message = problem.message
    if problem.body_line is not None:
        message = f"line {problem.body_line}: {message}"
    return EditProblem(problem.loc, message)


async def _in_transaction(
    engine: AsyncEngine, edit: Callable[[AsyncSession], Awaitable[Row]]
) -> EditResult[Row]:
    """Run `edit` in one writing transaction; any `_Rejected` rolls it all back."""
    try:
        async with open_session(engine, write=True) as session:
            return EditResult(row=await edit(session))
    except _Rejected as rejected:
        return EditResult(problems=rejected.problems)


def _validate(model: type[Model], data: dict[str, Any]) -> Model:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        kind = model.__name__.removesuffix("Input").lower()
        raise _Rejected([_problem(p) for p in problems_from_error(kind, 0, error)]) from None


async def _find(session: AsyncSession, table: type[Row], slug: str) -> Row:
    row = None
    if re.fullmatch(SLUG_PATTERN, slug):  # anything else names nothing (and NUL upsets SQL)
        statement = select(table).where(table.slug == slug)  # type: ignore[attr-defined]
        row = (await session.execute(statement)).scalar_one_or_none()
    if row is None:
        what = table.__tablename__.replace("_", " ")  # type: ignore[attr-defined]
        raise _Rejected([EditProblem(("slug",), f"no {what} {slug!r}", EditCode.NOT_FOUND)])
    return row


def _check_version(row: Any, expected: int | None) -> None:
    if expected is not None and row.version != expected:
        raise _Rejected(
            [
                EditProblem(
                    ("expectedVersion",),
                    f"{row.slug!r} is at version {row.version}, not {expected}: someone changed "
                    "it since you read it. Read it again, reapply your change and retry.",
                    EditCode.VERSION_CONFLICT,
                )
            ]
        )


async def _check_free(session: AsyncSession, table: type[Any], slug: str) -> None:
    taken = await session.execute(select(table.id).where(table.slug == slug))
    if taken.first() is not None:
        what = table.__tablename__.replace("_", " ")
        raise _Rejected(
            [EditProblem(("slug",), f"a {what} {slug!r} already exists", EditCode.ALREADY_EXISTS)]
        )


async def _write(session: AsyncSession, batch: Batch, actor: str, action: RevisionAction) -> None:
    plan = await plan_load(session=session, batch=batch)
    if plan.problems:
        raise _Rejected([_problem(p) for p in plan.problems])
    await apply_load(session=session, plan=plan, actor=actor, action=action)


async def _reload(session: AsyncSession, table: type[Row], slug: str) -> Row:
    statement = select(table).where(table.slug == slug)  # type: ignore[attr-defined]
    return (await session.execute(statement.execution_options(populate_existing=True))).scalar_one()


# --- Articles --------------------------------------------------------------------------------


def _pinned(article: Article, text: str, anchor: str | None) -> str | None:
    """A quote's section as the editor must have written it: None where the text's first
    section is the stored one (so moving the text moves the quote), the anchor otherwise."""
    key = quote_key(text)
    for section in article.sections:
        if key in quote_key(article.body_text[slice(*section["text"])]):
            return None if section["anchor"] == anchor else anchor
    return anchor


async def article_input(session: AsyncSession, article: Article) -> ArticleInput:
    """A stored article in the form an editor writes it (what a patch is applied to)."""
    topics = (
        await session.execute(
            select(Topic.slug, ArticleTopic.is_primary)
            .join(Topic, Topic.id == ArticleTopic.topic_id)
            .where(ArticleTopic.article_id == article.id)
            .order_by(ArticleTopic.position)
        )
    ).all()
    quotes = await session.execute(
        select(Expert.slug, Quote.text, Quote.context, Quote.section_anchor)
        .join(Expert, Expert.id == Quote.expert_id)
        .where(Quote.article_id == article.id)
        .order_by(Quote.position)
    )
    references = await session.execute(
        select(Reference).where(Reference.article_id == article.id).order_by(Reference.position)
    )
    target = Article.__table__.alias("target")
    related = await session.execute(
        select(target.c.slug, RelatedLink.url, RelatedLink.title, RelatedLink.label)
        .add_columns(RelatedLink.excerpt)
        .outerjoin(target, target.c.id == RelatedLink.target_article_id)
        .where(RelatedLink.article_id == article.id)
        .order_by(RelatedLink.position)
    )
    primary = next((slug for slug, is_primary in topics if is_primary), None)
    data: dict[str, Any] = {
        name: getattr(article, name)
        for name in ArticleInput.model_fields
        if name in Article.model_fields and name != "body"
    }
    data |= {
        "body": article.body_markdown,
        "topics": [slug for slug, _ in topics],
        "primary_topic": primary if topics and primary != topics[0][0] else None,
        "quotes": [
            {"expert": e, "text": t, "context": c, "section": _pinned(article, t, anchor)}
            for e, t, c, anchor in quotes
        ],
        "references": [
            {name: getattr(r, name) for name in ReferenceInput.model_fields}
            for r in references.scalars()
        ],
        "related": [
            {"article": slug, "url": url, "title": title, "label": label, "excerpt": excerpt}
            for slug, url, title, label, excerpt in related
        ],
        "review": None,
    }
    if article.reviewer_id is not None and article.reviewed_at is not None:
        reviewer = await session.get(Expert, article.reviewer_id)
        assert reviewer is not None
        data["review"] = {
            "reviewer": reviewer.slug,
            "reviewed_at": article.reviewed_at,
            "next_review_due": article.next_review_due,
        }
    return ArticleInput.model_validate(data)


# Per kind of item: its field in a Batch and its input model.
_KINDS: dict[type[Any], tuple[str, type[Any]]] = {
    Article: ("articles", ArticleInput),
    Topic: ("topics", TopicInput),
    Expert: ("experts", ExpertInput),
}


async def _current(session: AsyncSession, table: type[Any], row: Any) -> Any:
    """A stored item in its input form."""
    if table is Article:
        return await article_input(session, row)
    if table is Topic:
        return await _topic_input(session, row)
    return _expert_input(row)


async def _change(
    session: AsyncSession,
    table: type[Any],
    slug: str,
    expected_version: int | None,
    change: Callable[[dict[str, Any]], dict[str, Any]],
    actor: str,
    action: RevisionAction,
) -> Any:
    """Apply `change` to an item's input form and write the result, if it differs."""
    row = await _find(session, table, slug)
    _check_version(row, expected_version)
    current = await _current(session, table, row)
    before = current.model_dump()
    changed = change(before)
    if table is Article and changed.get("published_at") is None:
        # A publication date, once given, is kept (it is when the article first appeared).
        changed["published_at"] = before["published_at"]
    updated = _validate(type(current), changed)
    if updated.model_dump() == before:
        return row  # nothing to change: no new version
    if updated.slug != slug:
        await _check_free(session, table, updated.slug)
        # Renamed in place first, so the write below (by slug) updates this item.
        await session.execute(update(table).where(table.id == row.id).values(slug=updated.slug))
    await _write(session, Batch(**{_KINDS[table][0]: [updated]}), actor, action)
    return await _reload(session, table, updated.slug)


async def _patch(
    engine: AsyncEngine,
    table: type[Any],
    slug: str,
    expected_version: int | None,
    change: Callable[[dict[str, Any]], dict[str, Any]],
    actor: str,
    action: RevisionAction,
) -> EditResult[Any]:
    return await _in_transaction(
        engine,
        lambda session: _change(session, table, slug, expected_version, change, actor, action),
    )


async def create_item(
    engine: AsyncEngine, table: type[Any], data: dict[str, Any], actor: str
) -> EditResult[Any]:
    """A new article (a draft unless `status` says otherwise), topic or expert."""
    batch_field, model = _KINDS[table]

    async def edit(session: AsyncSession) -> Any:
        item = _validate(model, data)
        await _check_free(session, table, item.slug)
        await _write(session, Batch(**{batch_field: [item]}), actor, RevisionAction.CREATE)
        return await _reload(session, table, item.slug)

    return await _in_transaction(engine, edit)


async def update_item(
    engine: AsyncEngine,
    table: type[Any],
    slug: str,
    expected_version: int,
    patch: dict[str, Any],
    actor: str,
) -> EditResult[Any]:
    """Change the fields in `patch` (a list replaces the whole list); others stay."""
    return await _patch(
        engine, table, slug, expected_version, lambda c: c | patch, actor, RevisionAction.UPDATE
    )


_STATUS_ACTIONS = {
    ArticleStatus.PUBLISHED: RevisionAction.PUBLISH,
    ArticleStatus.DRAFT: RevisionAction.UNPUBLISH,
    ArticleStatus.ARCHIVED: RevisionAction.ARCHIVE,
}


async def set_article_status(
    engine: AsyncEngine,
    slug: str,
    status: ArticleStatus,
    expected_version: int | None,
    actor: str,
) -> EditResult[Article]:
    """Publish (dated now, unless it has a date), unpublish (back to draft) or archive."""
    return await _patch(
        engine,
        Article,
        slug,
        expected_version,
        lambda current: current | {"status": status},
        actor,
        _STATUS_ACTIONS[status],
    )


async def delete_article(
    engine: AsyncEngine, slug: str, expected_version: int | None, actor: str
) -> EditResult[Article]:
    """Delete an article and its quotes, links and references. Its revisions stay (with a last
    one recording the deletion). Refused while other articles link to it."""

    async def edit(session: AsyncSession) -> Article:
        row = await _find(session, Article, slug)
        _check_version(row, expected_version)
        linking = await session.execute(
            select(Article.slug)
            .join(RelatedLink, RelatedLink.article_id == Article.id)
            .where(RelatedLink.target_article_id == row.id)
            .order_by(Article.slug)
        )
        sources = [s for (s,) in linking]
        if sources:
            raise _Rejected(
                [
                    EditProblem(
                        ("slug",),
                        f"{slug!r} is a related post of {', '.join(map(repr, sources))}: remove "
                        "those links first, or archive it instead",
                        EditCode.IN_USE,
                    )
                ]
            )
        snapshot = await article_input(session, row)
        now = utcnow()
        await insert_revision(
            session=session,
            article_id=row.id,
            snapshot=snapshot,
            published_at=row.published_at,
            version=row.version + 1,
            action=RevisionAction.DELETE,
            actor=actor,
            now=now,
        )
        await session.execute(delete(Article).where(Article.id == row.id))
        await record(
            session,
            [
                Changed(
                    ChangeEntity.ARTICLE,
                    row.id,
                    row.slug,
                    ChangeAction.DELETED,
                    row.version + 1,
                    listed=row.status == ArticleStatus.PUBLISHED,
                    canonical_url=row.canonical_url,
                )
            ],
            now,
        )
        return row

    return await _in_transaction(engine, edit)


# --- Topics and experts ----------------------------------------------------------------------


async def _topic_input(session: AsyncSession, row: Topic) -> TopicInput:
    parent = await session.get(Topic, row.parent_id) if row.parent_id is not None else None
    data = {name: getattr(row, name) for name in TopicInput.model_fields if name != "parent"}
    return TopicInput.model_validate(data | {"parent": parent.slug if parent else None})


def _expert_input(row: Expert) -> ExpertInput:
    return ExpertInput.model_validate(
        {name: getattr(row, name) for name in ExpertInput.model_fields}
    )
