"""Edits: one item at a time (what the GraphQL mutations do), through the seed loader's path.

Each edit runs in its own writing transaction (the same lock the loader takes), checks the
version the editor last saw, validates with `schema.inputs` and `schema.validation`, plans with
`schema.load_plans` and writes with `schema.upserts`: one validation path, one set of messages,
one write path. A patch is applied to the item's snapshot (`schema.snapshots`). A rejected edit
changes nothing and says why (`EditProblem`s); an accepted one bumps the version and, for
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
from sqlmodel import col

from schema.changes import Changed, record
from schema.db import open_session
from schema.inputs import SLUG_PATTERN, ArticleInput, ExpertInput, TopicInput
from schema.load_plans import Batch, plan_load
from schema.snapshots import article_input, expert_input, topic_input
from schema.tables import (
    Article,
    ArticleStatus,
    ChangeAction,
    ChangeEntity,
    Expert,
    RelatedLink,
    RevisionAction,
    Topic,
    utcnow,
)
from schema.upserts import apply_load, insert_revision
from schema.validation import Loc, Problem, problems_from_error

T = TypeVar("T")
Row = TypeVar("Row", Article, Topic, Expert)
Model = TypeVar("Model", ArticleInput, TopicInput, ExpertInput)
Change = Callable[[dict[str, Any]], dict[str, Any]]  # an item's input form -> the edited one


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
class EditResult(Generic[T]):
    """The item as stored after the edit, or the problems that stopped it (then nothing
    changed)."""

    row: T | None = None
    problems: list[EditProblem] = field(default_factory=list)


# --- Articles --------------------------------------------------------------------------------


async def create_article(
    *, engine: AsyncEngine, data: dict[str, Any], actor: str
) -> EditResult[Article]:
    """A new article: a draft unless `status` says otherwise."""
    return await _create(engine, _ARTICLE, data, actor)


async def update_article(
    *, engine: AsyncEngine, slug: str, expected_version: int, patch: dict[str, Any], actor: str
) -> EditResult[Article]:
    """Change the fields in `patch` (a list replaces the whole list); others stay."""
    change = _keeping_publication_date(_setting(patch))
    return await _patch(
        engine, _ARTICLE, slug, expected_version, change, actor, RevisionAction.UPDATE
    )


_STATUS_ACTIONS = {
    ArticleStatus.PUBLISHED: RevisionAction.PUBLISH,
    ArticleStatus.DRAFT: RevisionAction.UNPUBLISH,
    ArticleStatus.ARCHIVED: RevisionAction.ARCHIVE,
}


async def set_article_status(
    *,
    engine: AsyncEngine,
    slug: str,
    status: ArticleStatus,
    expected_version: int | None,
    actor: str,
) -> EditResult[Article]:
    """Publish (dated now, unless it has a date), unpublish (back to draft) or archive."""
    change = _keeping_publication_date(_setting({"status": status}))
    action = _STATUS_ACTIONS[status]
    return await _patch(engine, _ARTICLE, slug, expected_version, change, actor, action)


async def delete_article(
    *, engine: AsyncEngine, slug: str, expected_version: int | None, actor: str
) -> EditResult[Article]:
    """Delete an article and its quotes, links and references. Its revisions stay (with a last
    one recording the deletion). Refused while other articles link to it."""

    async def edit(session: AsyncSession) -> Article:
        row = await _find(session, _ARTICLE, slug)
        _check_version(row, expected_version)
        await _check_unlinked(session, row)
        assert row.id is not None  # a stored row has an id (None is for rows not yet inserted)
        now = utcnow()
        await insert_revision(
            session=session,
            article_id=row.id,
            snapshot=await article_input(session=session, article=row),
            published_at=row.published_at,
            version=row.version + 1,
            action=RevisionAction.DELETE,
            actor=actor,
            now=now,
        )
        await session.execute(delete(Article).where(col(Article.id) == row.id))
        deleted = Changed(
            ChangeEntity.ARTICLE,
            row.id,
            row.slug,
            ChangeAction.DELETED,
            row.version + 1,
            listed=row.status == ArticleStatus.PUBLISHED,
            canonical_url=row.canonical_url,
        )
        await record(session, [deleted], now)
        return row

    return await _in_transaction(engine, edit)


# --- Topics and experts ----------------------------------------------------------------------


async def create_topic(
    *, engine: AsyncEngine, data: dict[str, Any], actor: str
) -> EditResult[Topic]:
    """A new topic."""
    return await _create(engine, _TOPIC, data, actor)


async def update_topic(
    *, engine: AsyncEngine, slug: str, expected_version: int, patch: dict[str, Any], actor: str
) -> EditResult[Topic]:
    """Change the fields in `patch` (a list replaces the whole list); others stay."""
    return await _patch(
        engine, _TOPIC, slug, expected_version, _setting(patch), actor, RevisionAction.UPDATE
    )


async def create_expert(
    *, engine: AsyncEngine, data: dict[str, Any], actor: str
) -> EditResult[Expert]:
    """A new expert."""
    return await _create(engine, _EXPERT, data, actor)


async def update_expert(
    *, engine: AsyncEngine, slug: str, expected_version: int, patch: dict[str, Any], actor: str
) -> EditResult[Expert]:
    """Change the fields in `patch`; others stay."""
    return await _patch(
        engine, _EXPERT, slug, expected_version, _setting(patch), actor, RevisionAction.UPDATE
    )


# --- The kinds of item -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Kind(Generic[Row, Model]):
    """What an edit needs to know of one kind of item."""

    name: str  # as messages say it
    table: type[Row]
    model: type[Model]
    snapshot: Callable[[AsyncSession, Row], Awaitable[Model]]  # the stored item, input form
    batch: Callable[[Model], Batch]  # a batch of that one item


async def _article_snapshot(session: AsyncSession, row: Article) -> ArticleInput:
    return await article_input(session=session, article=row)


async def _topic_snapshot(session: AsyncSession, row: Topic) -> TopicInput:
    return await topic_input(session=session, topic=row)


async def _expert_snapshot(session: AsyncSession, row: Expert) -> ExpertInput:
    return expert_input(expert=row)


_ARTICLE = _Kind(
    "article", Article, ArticleInput, _article_snapshot, lambda item: Batch(articles=[item])
)
_TOPIC = _Kind("topic", Topic, TopicInput, _topic_snapshot, lambda item: Batch(topics=[item]))
_EXPERT = _Kind("expert", Expert, ExpertInput, _expert_snapshot, lambda item: Batch(experts=[item]))


# --- How an edit runs ------------------------------------------------------------------------


class _Rejected(Exception):
    def __init__(self, problems: list[EditProblem]) -> None:
        super().__init__(problems)
        self.problems = problems


async def _in_transaction(
    engine: AsyncEngine, edit: Callable[[AsyncSession], Awaitable[T]]
) -> EditResult[T]:
    """Run `edit` in one writing transaction; any `_Rejected` rolls it all back."""
    try:
        async with open_session(engine, write=True) as session:
            return EditResult(row=await edit(session))
    except _Rejected as rejected:
        return EditResult(problems=rejected.problems)


async def _create(
    engine: AsyncEngine, kind: _Kind[Row, Model], data: dict[str, Any], actor: str
) -> EditResult[Row]:
    async def edit(session: AsyncSession) -> Row:
        item = _validate(kind, data)
        await _check_free(session, kind, item.slug)
        await _write(session, kind.batch(item), actor, RevisionAction.CREATE)
        return await _reload(session, kind, item.slug)

    return await _in_transaction(engine, edit)


async def _patch(
    engine: AsyncEngine,
    kind: _Kind[Row, Model],
    slug: str,
    expected_version: int | None,
    change: Change,
    actor: str,
    action: RevisionAction,
) -> EditResult[Row]:
    async def edit(session: AsyncSession) -> Row:
        return await _change(session, kind, slug, expected_version, change, actor, action)

    return await _in_transaction(engine, edit)


async def _change(
    session: AsyncSession,
    kind: _Kind[Row, Model],
    slug: str,
    expected_version: int | None,
    change: Change,
    actor: str,
    action: RevisionAction,
) -> Row:
    """Apply `change` to an item's input form and write the result, if it differs."""
    row = await _find(session, kind, slug)
    _check_version(row, expected_version)
    before = (await kind.snapshot(session, row)).model_dump()
    updated = _validate(kind, change(before))
    if updated.model_dump() == before:
        return row  # nothing to change: no new version
    if updated.slug != slug:
        await _check_free(session, kind, updated.slug)
        # Renamed in place first, so the write below (by slug) updates this item.
        rename = update(kind.table).where(col(kind.table.id) == row.id)
        await session.execute(rename.values(slug=updated.slug))
    await _write(session, kind.batch(updated), actor, action)
    return await _reload(session, kind, updated.slug)


def _setting(values: dict[str, Any]) -> Change:
    """A change that sets the fields in `values` (a list replaces the whole list)."""
    return lambda current: current | values


def _keeping_publication_date(change: Change) -> Change:
    """`change`, except that a publication date, once given, is kept (it is when the article
    first appeared): left out or null, it stays what it was."""

    def changed(before: dict[str, Any]) -> dict[str, Any]:
        after = change(before)
        if after.get("published_at") is None:
            after["published_at"] = before["published_at"]
        return after

    return changed


async def _write(session: AsyncSession, batch: Batch, actor: str, action: RevisionAction) -> None:
    plan = await plan_load(session=session, batch=batch)
    if plan.problems:
        raise _Rejected([_problem(p) for p in plan.problems])
    await apply_load(session=session, plan=plan, actor=actor, action=action)


# --- Checks ----------------------------------------------------------------------------------


def _problem(problem: Problem) -> EditProblem:
    message = problem.message
    if problem.body_line is not None:
        message = f"line {problem.body_line}: {message}"
    return EditProblem(problem.loc, message)


def _validate(kind: _Kind[Row, Model], data: dict[str, Any]) -> Model:
    try:
        return kind.model.model_validate(data)
    except ValidationError as error:
        raise _Rejected([_problem(p) for p in problems_from_error(kind.name, 0, error)]) from None


async def _find(session: AsyncSession, kind: _Kind[Row, Model], slug: str) -> Row:
    row = None
    if re.fullmatch(SLUG_PATTERN, slug):  # anything else names nothing (and NUL upsets SQL)
        statement = select(kind.table).where(col(kind.table.slug) == slug)
        row = (await session.execute(statement)).scalar_one_or_none()
    if row is None:
        message = f"no {kind.name} {slug!r}"
        raise _Rejected([EditProblem(("slug",), message, EditCode.NOT_FOUND)])
    return row


async def _reload(session: AsyncSession, kind: _Kind[Row, Model], slug: str) -> Row:
    statement = select(kind.table).where(col(kind.table.slug) == slug)
    return (await session.execute(statement.execution_options(populate_existing=True))).scalar_one()


def _check_version(row: Article | Topic | Expert, expected: int | None) -> None:
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


async def _check_free(session: AsyncSession, kind: _Kind[Row, Model], slug: str) -> None:
    taken = await session.execute(select(col(kind.table.id)).where(col(kind.table.slug) == slug))
    if taken.first() is not None:
        message = f"a {kind.name} {slug!r} already exists"
        raise _Rejected([EditProblem(("slug",), message, EditCode.ALREADY_EXISTS)])


async def _check_unlinked(session: AsyncSession, article: Article) -> None:
    """Refuse to delete an article other articles list as a related post."""
    linking = await session.execute(
        select(col(Article.slug))
        .join(RelatedLink, col(RelatedLink.article_id) == col(Article.id))
        .where(col(RelatedLink.target_article_id) == article.id)
        .order_by(col(Article.slug))
    )
    sources = [s for (s,) in linking]
    if sources:
        raise _Rejected(
            [
                EditProblem(
                    ("slug",),
                    f"{article.slug!r} is a related post of {', '.join(map(repr, sources))}: "
                    "remove those links first, or archive it instead",
                    EditCode.IN_USE,
                )
            ]
        )
